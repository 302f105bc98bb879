//! HTTP signatures end to end: round trips for both schemes, every rejection,
//! published interop vectors, tolerance of real-world variants, and property tests
//! (no panic, no acceptance of random or tampered input).
//!
//! Interop vectors:
//! - draft-cavage-http-signatures-12 Appendix C ("All Headers" test, 1024-bit key):
//!   our signing string matches the published one, and the published signature
//!   verifies over it (checked with aws-lc-rs directly: our key policy refuses 1024
//!   bits). The header as printed in the draft (`(created)` with `rsa-sha256`) is
//!   invalid by the draft's own rules and is refused.
//! - RFC 9421 §4.3 `proxy_sig` (`test-key-rsa`, `rsa-v1_5-sha256`): verified end to
//!   end, and re-signing its base with the RFC's private key reproduces the published
//!   signature byte for byte (PKCS#1 v1.5 is deterministic).
//! - RFC 9421 Appendix B.2.3 (`rsa-pss-sha512`): we do not verify RSA-PSS, but our
//!   signature base matches the RFC's, and the published PSS signature verifies over
//!   it with aws-lc-rs directly.
//! - Self-made: a Mastodon-style cavage POST and GET and an RFC 9421 POST, with a
//!   fixed key and date; expected signatures were computed independently with
//!   `openssl dgst -sha256 -sign` over the literal signing strings below.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, HOST, HeaderMap, HeaderName, HeaderValue,
};
use reqwest::{Method, Url};
use sha2::{Digest as _, Sha256};
use sluice_federation::keys::{KeyError, KeyPair, PublicKey};
use sluice_federation::signatures::{
    CONTENT_DIGEST, DIGEST, PendingSignature, SIGNATURE, SIGNATURE_INPUT, Scheme, SignWith,
    TargetScheme, VerifyError, VerifyLimits, parse_request, sign_request,
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// 2048-bit RSA key, PKCS#8 (made with `openssl genpkey`). Test use only.
const KEY_A: &str = "-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7lFJmz2Ys6qI6
neTLFtSiqDLsZ97J4iT4cV6PIF61/SypnqC3i4/dXWK1iZhanc8BrukZ6sM8/IHb
aUfTldPUCPP3LGjW7AaC7hVCmkJGBWv7Jt80Qd9Lmzknj4KOQWSIWm7vWEzW2V5l
zzdKQtX8KSwQxk3UXi0g3zsRt4zg14qqWTa/zqZVJFblE16S+ukHfB+hjclUnGsP
WEjZZaNCyV7lfVUBbZtDQS9w7cEPjJ6GjwMO1RJxYvl6yhgpyLyaVzNeElO1kold
V1LMideRhsk7w7lL5V1IHmWCapEDwMyFDkRhJ2Z9jLdD6ManfDl3pwUX7PUQ9or9
Y0o9AfijAgMBAAECggEADSkM1vW6H3CezSoCwVTquja+y+NFuDhLi7q4faYxvuby
WTwt3nLGNyu0HzR2IfVsbpvM8uqLpB27Jp+uUGP0pq2yICdXe6y3kDwP9cpI2AzN
VKOXiV0Nw4oyalohOMXRvddKbTRuv6wkeVQedvFVfgmNc+fV0g6BcAr5Y/bSxXt7
C/4eNwHjuj1vp5Dn2EbFP1TN/5ZHHhXTk87D/eDyWvq8UqgH4i0xX4IUR7k2Yx9b
m8nwGaXnlGB8Awo9IOcS2SZ8GR2LXF3EtPoIAsadFpDbxWO9UBPXV6FTkaPuo0nV
7eMa5UHg80Qincpgv3qvzTxs2tsnVBCHRlv5GXcJkQKBgQDoRDU6uxPvXrRnTfGL
X4ZZMgna0HApNcU1XnwKHqDT7d44m6bxJUIdLo1Feayz5FUPC9ZmneZv/Ie6Yvt8
RI22i9lHl9cjbrJXDiUZ4Z2beE4CH1jhKrw1X/WjT82Ond/4VbYeskXJLjrsh3QE
govrdWjMMWbwAfpehv8dwzuGZQKBgQDOvyhtUBv/ACvnvWgCkksqRj5qbqodCb4Q
EvFpyYbF+3EI0FT31hjPcNJvtiQX844KddjMWIuvW5Nm+9f0BfT/I+ijh1Y4hZ2o
v0mNKrFytQHcsxraluhhgXRpZU59fHTcN7/iZ+gPt3w5UEb2YG666oMlAiN2WQro
ted9IFnuZwKBgCK0Dj/4M8JQJCRLQQvR+gDZuR84hYmivxR6SY45hU4k/E748riV
GIvDqNf4lhVKyGq3GhG7BfM1iBIROAIZPBNKUeygg0SIBZ18P47eZu4Ty5QFmwIJ
oJVZARqlkdD9RbmVFOEBQewNPECa/HqwBrfnkwDvYLH7ma0F/pgz03EBAoGAS3WZ
28wRa9E0NTD8dXPP224n+dDKZi7YICXJ10Km3jwX1Y+0c4DBLXWQWRWxtsw+W7MH
ng3zbd2Ov1fMSlSiRz1j+8u5vIeIM78dqViby7IlK9hzRLUvu+b0BkPjkgmK3ZW7
g3dJS/M8c+7I98Papn5Rv4A4UUnOoYFDLHhSWqECgYEAqM+6v5M2+9S60t+umewJ
f2DYV112C4hDocivKUBHjMgGWRa3QjIPkhEc2E9baKH6cFhIQL4XCCb961TRjdKT
ymlssvMsvqE7BnYAD5gXNoUE07Jt2Rt3wJ1VcDnkqSRIHvlVAh3UcCskbPHE6W2a
Eqxvr2FgklvV8HSKMdu2WsU=
-----END PRIVATE KEY-----
";

/// Another 2048-bit RSA key, PKCS#1 (`openssl rsa -traditional`). Test use only.
const KEY_B_PKCS1: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEA5KVzdMHSRr9m5ipzxXLmdcDL5Zi4bSAu5c10bMDkOuvO8vWu
fcZUA9U7GVRtMGQmg+CELthDCD4py+7EHV07tHNLNfALLD1WQX76t4QsRwhkSzTF
3npBSyRsVd14FpgiEWmG/AiPg2qSwOSKOUAzUFDOt1FC7EJxsjl9iP8/cpgkpzPl
DqmppsYs0ltgwmBJxhnbDGrue7orjFUgsRSanhafOT9qEbPgOjRjZb0Sic6G1AFa
c9SxssAmEVa9xuzV4y9DmvOYW8TgRKGFNrh/5RTd8B8WrExCtuqJBf6FPeFgFWX2
LGtU10kHBB3K/PYpcSmmOPvCfQzH+vXBDyyowQIDAQABAoIBAAx9bT0niVEMC5bv
IrvadvRfv8OfABQV+fnbq0x1jQIa94cWHJ4KQ3SiJURQ9FX8Yo45qX7VmXPN0YKu
XFAuU6Cb27PqlPGpuBiD0zZLJhALSU9CZrysePyd1L0sB+9UCChjV1hVL2HCZJnc
4iAWfbcZcvFYows85fESauUc7F5aDtbgAJnYSchqXWKo49QMY9FJUmuqpxgxj71C
o4eQs5ANixITmsD2KjCCjA7+rPnND2eSp10LlJX8AmsTKkH9vQTkz39pKWZqf3JZ
n9MYEG3Nn99voNP4PmJIIObO8gbkmL+kJFTMuWMuEmqoWSCE8IgdJJBr+Kg4LBbY
F/1aAPECgYEA9g9qKkoCGcs17hCvNAcH+O93cSrzJ4MFJlbeWK67Ho+3ldOmlvR8
zaCwx9tgw27czlnFDq5oQ/4uBimgyerInytdxPy5uaT2bJsTxek0HMzMpsBvjXMa
HdrssEG/5dsh9+vNvYqYIbPqWBTr4iybCiW0MZ7btDuZ+BXT++CYoLcCgYEA7eH0
GZlmX3e6Kc2F9FDsxtmzBkU3gh6z4Yn1uUOMdf7YqeOL5M7GuOFBfkE5/LGJzeJ9
lnKMojk/bqE7uJF8qztDTtWrXgd5pxZ0tPRIWqqVnF3F0+gr+A651EQcz5gMYCLz
wQC2cKRo3cqrxm2Gz2qER95y7aJaw2FB468mmkcCgYANrnW8vDi5rm7lOdBEGE/9
K3N8u2Khw8s5goMCc1S8MkmG7ynIIvf9hv3NXwlWVIe6gYtPcasifLOabB4gnAlj
sEmadmLtS5rYFxdWXc0j/M80RmbteoTtPAsFEeLVqQWOf3IFI/uphBN3qlIjVU+Z
lNccGzUkJFw/SxdqXeaeqQKBgFJAAiqnw6HWv+OcUGi9YmEO/Lt6S0sOWpvtG61H
EdXqm/eB2ejvJf7ew8pnuykIKeGqIkpWqRGeQbR6wy95/mUmRIuJjYshgoqnVQsM
O8g9myVJtxEiAbHvRYmDU4Ljy8Oh0i41lN81uZyWavZdAHPPHJXM8GgB7ugHRMT4
1pwZAoGAW4Wed/SyV9qPwjGS5sE/MP9kkroOFVYWpg428pWJYhuJY5Yy1DDTFJ8X
KRvihSmegpaCDKCaDJCX7eBfPMyqDWGu+wvO2lWhCbwME3/7dMR+A9AMe/6reswS
rfzdx8kDhA99tQqX3kc7nAfjph5xSo/yaHuJtWozm8OoQnSPUOY=
-----END RSA PRIVATE KEY-----
";

/// 4096-bit RSA key, PKCS#8. Test use only.
const KEY_C_4096: &str = "-----BEGIN PRIVATE KEY-----
MIIJQgIBADANBgkqhkiG9w0BAQEFAASCCSwwggkoAgEAAoICAQC74e9zZizzaC/r
wT+D3Rm9LhvWUEtn9+II/j7eyqIcuJKzTmI/RUTX4ffPIhlMnsNhfc6ZAn9Hb2q/
RQUJqB4DLw73DWEVWvr/yVFWsUblNCUPDu6JSaz40rU2O3YoBZlYnPNRUbebDBC4
fb1681hBLezd5na4cbWYO5a4jLtHgh3zOHvD6phCwCYXd7yTw91QNRGj16W9+VMk
Y2Wz2aCvf2jRkOISRi5pRa/btD2hyaUlPxp4QRGQ9us1w3LMlRRTMnlZtsh30QZU
F+Yxx4Kz2Q59EODmEaLDgw1hzuyaq71uSpickimRMcr40qCcbyckPq0iniCkkDFZ
+DX/NmTQ85C5R+5iMcu0iM3VgvMRCjV9JhQwBaSZ2ibnfUVzSKRL4JF2WDQTiP5A
yRAJeDKrfutgZZmkCOA2bDguC+gltgmMeGhyiSakRQXlZEgDglS4QyfXX3+C+tFz
60nFfe5iXsLGnUrfuzsooUInXNLlmyFXqE2CJaXlddATzWIrjZIfeni8lARuEPrH
j8oOv1FwB8JZyJTkAu/yBpJb6nPEuHAEE8Cuonns9MlT1uKlqarajSsxNc0Rj8RH
J8UYeNs0eVbCdQSNfJ3PYbVUGBOzS/sZ9gGEC/QVftmIQWuHSajBlrdy2yevqmGJ
bUSf8IUACyfvyKBokB4TCn8f+QyPFQIDAQABAoICAALdGQaHKA5wgZgUNd249bOS
kgqmGaghhcv0sbLSn6SH00PK+sHGuM7NKAPiG95oZkdeBznOaTzTZjfStP0MyqK3
MAEa+2ZVOl5b5d+U5Ytu/1U0UvVu7ouyWazuCUlN4Ir469dK9nbCBdIFQWljPFUH
mES/k2kQ4dKXe4VSyJrFhHBYslluAdkbaNk46+Jl41sqgk5r5h/rPqJ42cV85S9k
Zg2y3O2oLS/q+uW14K41G4CVIb5zrqSPgIFGxw3dBDzKZNtPTZnp6sp57/orqM9v
jDV8ZHkm2EMm0OiACQIu6PAj6e4rZvL9sWX+fxBmiOmxnN3Atdp13V+AlYFPONUh
xfGReuWMJLh6CiNrYqFk6J2G4uzsWbczSXWBafbsDyJ4+hrpiNH5Uo65nDRfJuNf
tFN2vMB2pQ4ki3C1/X2uDIVEsbfitFO9Xk7Oxa1c2uOrxWQRK6DPqv72aHxdNP3Y
AVGy97RvRsNHhYuGYTw898ZRsjzOI3/znYqcNLuTPRimPtg58hZ9ueNrMATBBkjo
FU96ZlTPCUTi78uL2rDhwvd3Dx6opTIpBEBgu5DgIqKDIfD5YFt0iBPqZm5+5AuC
1bu2Lhh2yD3qbaLlwlZ4P9zgPaikePT5jZtP6EK3DRigtD8dwhaKjLLaQv6WU1PD
7plM0KS76kEe/z4XYcnxAoIBAQDwFSq54NoSrtZrtl/8LYnMhWks/BzBgw8vvsTs
GljZEnfYU7asi8mgWnqUQGCOqT0kCggZHP1bUfYi3/9WA7BKw2dnGZHGFq3SVqye
/JmN7gJv4nkqpDumpCCumglPiHPYRSZv/0yWCXc66AvK/BqYtKY03QFJdMGdqSLt
lz+c0p/CmFOwSQ37iUlOXgfj4GrpU5bjj02ZbrhDxtHvEX/nsJ4UHleQCmZFLpy7
m3Rz1a69IUuwB7WeVQW/Xbm/HNKbI42iCKJxi7MGnOogmiKh3rjJyDULYKK6Vgtp
6UNp/SOmQrs+2oPjc0FMq1L4PfOZzrBrUfE1Af0wTehqXHKpAoIBAQDIVsue7NlG
lp87dQnA/G3b6e/3B8XzubV2zVEqgm9WAPg3Wf5l8LzJ+vmMPzlWmFcPlaxKsF5b
J/9ye2gvziTpIkladFNxOnFjN+28iJrlcla6rXxNy0QGFgwD6FrY42T0PXoseV8t
Fpb0m5n2KHCXp3zRbdz/5Ab7rLAZfxEo7q73SEMq2LXOdWCPA7wqZFoIhCUmhmsV
S9YXZgEj8ZkX0+t2rlRdSBU6C3sQUtnX7ajV17BxKGdtalKiuLB5R0MRa18U5d3Z
tZfxUIHnk4twiqazewYH4VH8kTUn/QS5C7pi8ZKTnMW3SZGdEBm1VT+8N75FkErg
QEnqZgop3yiNAoIBAGn7vh/OThZ/TjLAkMDfTXyWzGZKaVtXwuV93qqnut8g0v0R
f4vOLdT2/DPj83wm49G8B/UmIgYlOXYN0kcjW7i1aDlQRVTgAB3hm1SYCCVqk3LW
1ExpsdePjsnlQAT3JMStShmY5zM4vISpmUMjZY5R+SlPAtltjGdQGhYudauCI3qh
ChjBN0X6Rf0tb2g+UpPsDakpQsVf5kItS9GwtPkPs8kH1/nDTYBu4kvDhXX5N6lQ
QHxV+uwJdn8THgNq8uH/oO+NxkA/vmlF7ek0geNZUdPp6Ni78To279TyX4szb4Be
5xAJIL3QzFvPKdJibt5QKvtFcijHVwDy8424f/kCggEAXRKt0Ky6mKe7XFUYbfcY
VtXNLRgIaB2753Clp7knXm5e4uBFZzi7jJ6ztutciRWHRO9FNwHPJExlydr5YVRF
I6ZRK9vlNDJxoSXHphJU3AoNrvaQTFgFx0oQ1PPq2N5z9WBmVSkiBYF8KjHsCkdp
X5tpSqbeyGc4s03cFkxJPZn94VZKFirN9Bfl/ys+DPfIODKkS8yhDSjJUt+J4hgJ
Bt/mgaGmAhxN+ESDLOdA26dHC+oDx958hoGh2IUzP3TS/NHEP6I3OkC6UVsUrvCG
FIflwHaEK78LZupTJrvOqOWA9xzB+yAXXvqn0q87MlpjnN7M3+aUUrCrZmF3kVJi
tQKCAQEAs/1QqAb+YzE/nBQI2iB0xmIr4WvyrV+7q0FIBjTCmlkcmDmTnlVmbk6y
qJMsgZcykFUzdKHzptHs7ToVwZzafXHYk3e9IU/HPvN7I5Vi+iNrTAn0O8TvkdfG
ptR3ofzP29zOnOhwadWF0OJ/yG1PbDuQ8F2vtbFT9mFLgfkC4NJ+ctYdboIw8sB2
LwpkpIE1mQsKEeg1SoTY24h6NNXTHZ4RyNFm8QfdsMDyTOWfTGbwU/SiJ4/pI/HU
K4rEzVf/jfTyeJAY2r7OG9JKaALp3zjfNirYXqyp0qaTGwPX+yUVgovOUZIugYCH
RpDWVIDt17xiHkejv3mG73XdcJjAag==
-----END PRIVATE KEY-----
";

/// RFC 9421 Appendix B.1.1 `test-key-rsa` (2048 bits, PKCS#1), public.
const RFC_TEST_KEY_RSA_PUB: &str = "-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----
";

/// RFC 9421 Appendix B.1.1 `test-key-rsa`, private (PKCS#1).
const RFC_TEST_KEY_RSA_PRIV: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsP
BRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsd
JKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75
jfZgkne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKI
lE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZ
SFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56
vjgCgkjg3lkO1KrO3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxE
CpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL5934egm6p8DW
+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaA
yRXtK+JGxZpImTq+NHvEWWCu09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKR
Qo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5asI0J
YFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOM
cCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5Csw
DzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1
mwJ5AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RT
qn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2ZbwVOCJCtmRwmnP131lWRYfj67
B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv
9C+celgZd2PW7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bn
f3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAcQWDLRpkGybBcxqZo
81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa
/2IxKzJKWl1BKr2d4xAfR0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAG
IxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtvUvYvF22m
qQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1P
WtP+fG5Q6Dpdz3LRfm+KwBCWFKQjg7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQ
EQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=
-----END RSA PRIVATE KEY-----
";

/// RFC 9421 Appendix B.1.2 `test-key-rsa-pss`, public (SPKI).
const RFC_TEST_KEY_RSA_PSS_PUB: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
";

/// draft-cavage-http-signatures-12 Appendix C `keyId=Test` (1024 bits!), public.
const CAVAGE_TEST_KEY_PUB: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
";

static A: LazyLock<KeyPair> = LazyLock::new(|| KeyPair::from_pem(KEY_A).unwrap());
static B: LazyLock<KeyPair> = LazyLock::new(|| KeyPair::from_pem(KEY_B_PKCS1).unwrap());

const KEY_ID: &str = "https://sender.example/users/bob#main-key";
const INBOX: &str = "https://mastodon.example/users/alice/inbox";
const FOLLOW: &[u8] = br#"{"@context":"https://www.w3.org/ns/activitystreams","id":"https://sender.example/follows/1","type":"Follow","actor":"https://sender.example/users/bob","object":"https://mastodon.example/users/alice"}"#;
const FIXED_DATE: &str = "Tue, 07 Nov 2023 10:00:00 GMT";
const FIXED_UNIX: u64 = 1_699_351_200;

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

fn fixed_now() -> SystemTime {
    at(FIXED_UNIX)
}

fn path_and_query(url: &str) -> String {
    let url = Url::parse(url).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// Signs a request the way the delivery code does.
fn signed(
    method: &Method,
    url: &str,
    body: Option<&[u8]>,
    scheme: Scheme,
    key: &KeyPair,
    now: SystemTime,
) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        method,
        &Url::parse(url).unwrap(),
        &mut map,
        body,
        &SignWith {
            key_id: KEY_ID,
            key,
            scheme,
            now,
        },
    )
    .unwrap();
    map
}

fn parse_at(
    method: &Method,
    url: &str,
    map: &HeaderMap,
    body: Option<&[u8]>,
    now: SystemTime,
) -> Result<PendingSignature, VerifyError> {
    parse_request(
        method,
        &path_and_query(url),
        map,
        body,
        now,
        &VerifyLimits::default(),
    )
}

fn verify_at(
    method: &Method,
    url: &str,
    map: &HeaderMap,
    body: Option<&[u8]>,
    now: SystemTime,
    key: &PublicKey,
) -> Result<(), VerifyError> {
    parse_at(method, url, map, body, now)?.verify(key)
}

fn sign_b64(key: &KeyPair, signing_string: &str) -> String {
    STANDARD.encode(key.sign_sha256(signing_string.as_bytes()).unwrap())
}

fn sha256_b64(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// A cavage POST to INBOX signed by hand over `covered`, with the given extra
/// Signature parameters (e.g. `algorithm="hs2019",`).
fn hand_signed_cavage_post(covered: &str, params: &str, body: &[u8], date: &str) -> HeaderMap {
    let digest = format!("SHA-256={}", sha256_b64(body));
    let mut map = headers(&[
        ("host", "mastodon.example"),
        ("date", date),
        ("digest", &digest),
    ]);
    let lines: Vec<String> = covered
        .split(' ')
        .map(|name| match name {
            "(request-target)" => "(request-target): post /users/alice/inbox".to_owned(),
            "host" => "host: mastodon.example".to_owned(),
            "date" => format!("date: {date}"),
            "digest" => format!("digest: {digest}"),
            other => panic!("unexpected {other}"),
        })
        .collect();
    let signature = sign_b64(&A, &lines.join("\n"));
    let value = format!(r#"keyId="{KEY_ID}",{params}headers="{covered}",signature="{signature}""#);
    map.insert(SIGNATURE, HeaderValue::from_str(&value).unwrap());
    map
}

fn signature_header(map: &HeaderMap) -> String {
    map.get(SIGNATURE).unwrap().to_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

#[test]
fn round_trip_cavage_post() {
    let now = SystemTime::now();
    let map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Cavage, &A, now);
    assert_eq!(map.get(HOST).unwrap(), "mastodon.example");
    assert_eq!(map.get(DATE).unwrap(), &httpdate::fmt_http_date(now));
    assert_eq!(
        map.get(DIGEST).unwrap().to_str().unwrap(),
        format!("SHA-256={}", sha256_b64(FOLLOW))
    );
    assert!(map.get(SIGNATURE_INPUT).is_none());
    assert!(
        signature_header(&map)
            .contains(r#"algorithm="rsa-sha256",headers="(request-target) host date digest""#)
    );

    let pending = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now).unwrap();
    assert_eq!(pending.key_id(), KEY_ID);
    assert_eq!(pending.scheme(), Scheme::Cavage);
    assert_eq!(pending.label(), None);
    assert_eq!(
        pending.covered_components(),
        ["(request-target)", "host", "date", "digest"]
    );
    assert_eq!(pending.verify(A.public_key()), Ok(()));
}

#[test]
fn round_trip_cavage_get_signs_accept_when_set() {
    let now = SystemTime::now();
    let url = "https://mastodon.example/users/alice/outbox?page=true";
    let mut map = HeaderMap::new();
    map.insert(
        ACCEPT,
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        &Method::GET,
        &Url::parse(url).unwrap(),
        &mut map,
        None,
        &SignWith {
            key_id: KEY_ID,
            key: &A,
            scheme: Scheme::Cavage,
            now,
        },
    )
    .unwrap();
    assert!(signature_header(&map).contains(r#"headers="(request-target) host date accept""#));
    assert!(map.get(DIGEST).is_none());
    assert_eq!(
        verify_at(&Method::GET, url, &map, None, now, A.public_key()),
        Ok(())
    );

    // Without Accept, the signature covers the minimum.
    let map = signed(&Method::GET, url, None, Scheme::Cavage, &A, now);
    assert!(signature_header(&map).contains(r#"headers="(request-target) host date""#));
    assert_eq!(
        verify_at(&Method::GET, url, &map, None, now, A.public_key()),
        Ok(())
    );
}

#[test]
fn round_trip_rfc9421_post() {
    let now = SystemTime::now();
    let map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Rfc9421, &A, now);
    let created = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        map.get(SIGNATURE_INPUT).unwrap().to_str().unwrap(),
        format!(
            r#"sig1=("@method" "@target-uri" "content-digest");created={created};keyid="{KEY_ID}";alg="rsa-v1_5-sha256""#
        )
    );
    assert_eq!(
        map.get(CONTENT_DIGEST).unwrap().to_str().unwrap(),
        format!("sha-256=:{}:", sha256_b64(FOLLOW))
    );
    let signature = signature_header(&map);
    assert!(
        signature.starts_with("sig1=:") && signature.ends_with(':'),
        "{signature}"
    );
    assert!(map.get(HOST).is_some() && map.get(DATE).is_some());

    let pending = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now).unwrap();
    assert_eq!(pending.scheme(), Scheme::Rfc9421);
    assert_eq!(pending.key_id(), KEY_ID);
    assert_eq!(pending.label(), Some("sig1"));
    assert_eq!(pending.verify(A.public_key()), Ok(()));
}

#[test]
fn round_trip_rfc9421_get() {
    let now = SystemTime::now();
    let url = "https://mastodon.example/users/alice?x=1&y=%20";
    let map = signed(&Method::GET, url, None, Scheme::Rfc9421, &A, now);
    let input = map.get(SIGNATURE_INPUT).unwrap().to_str().unwrap();
    assert!(
        input.starts_with(r#"sig1=("@method" "@target-uri");created="#),
        "{input}"
    );
    assert!(map.get(CONTENT_DIGEST).is_none());
    let pending = parse_at(&Method::GET, url, &map, None, now).unwrap();
    assert_eq!(
        std::str::from_utf8(pending.signing_string())
            .unwrap()
            .lines()
            .take(2)
            .collect::<Vec<_>>(),
        [
            "\"@method\": GET",
            "\"@target-uri\": https://mastodon.example/users/alice?x=1&y=%20"
        ]
    );
    assert_eq!(pending.verify(A.public_key()), Ok(()));
}

#[test]
fn round_trip_non_default_port_and_query() {
    let now = SystemTime::now();
    let url = "https://Mastodon.Example:8443/users/alice/inbox?a=b";
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        let map = signed(&Method::POST, url, Some(FOLLOW), scheme, &A, now);
        assert_eq!(map.get(HOST).unwrap(), "mastodon.example:8443");
        assert_eq!(
            verify_at(&Method::POST, url, &map, Some(FOLLOW), now, A.public_key()),
            Ok(()),
            "{scheme:?}"
        );
    }
    // A default port in the Host header does not change the RFC 9421 target URI.
    let mut map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Rfc9421, &A, now);
    map.insert(HOST, HeaderValue::from_static("mastodon.example:443"));
    assert_eq!(
        verify_at(
            &Method::POST,
            INBOX,
            &map,
            Some(FOLLOW),
            now,
            A.public_key()
        ),
        Ok(())
    );
}

#[test]
fn round_trip_empty_post_and_pkcs1_and_4096_bit_keys() {
    let now = SystemTime::now();
    let big = KeyPair::from_pem(KEY_C_4096).unwrap();
    assert_eq!(big.bits(), 4096);
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        for key in [&*A, &*B, &big] {
            let map = signed(&Method::POST, INBOX, Some(FOLLOW), scheme, key, now);
            assert_eq!(
                verify_at(
                    &Method::POST,
                    INBOX,
                    &map,
                    Some(FOLLOW),
                    now,
                    key.public_key()
                ),
                Ok(())
            );
        }
        // A POST without a body is signed and checked as an empty body.
        let map = signed(&Method::POST, INBOX, None, scheme, &A, now);
        assert_eq!(
            verify_at(&Method::POST, INBOX, &map, None, now, A.public_key()),
            Ok(())
        );
        assert_eq!(
            verify_at(&Method::POST, INBOX, &map, Some(b""), now, A.public_key()),
            Ok(())
        );
    }
}

#[test]
fn re_signing_switches_scheme_cleanly() {
    // Double-knocking: sign RFC 9421 first, then re-sign the same headers with cavage.
    let now = SystemTime::now();
    let url = Url::parse(INBOX).unwrap();
    let mut map = HeaderMap::new();
    sign_request(
        &Method::POST,
        &url,
        &mut map,
        Some(FOLLOW),
        &SignWith {
            key_id: KEY_ID,
            key: &A,
            scheme: Scheme::Rfc9421,
            now,
        },
    )
    .unwrap();
    sign_request(
        &Method::POST,
        &url,
        &mut map,
        Some(FOLLOW),
        &SignWith {
            key_id: KEY_ID,
            key: &A,
            scheme: Scheme::Cavage,
            now,
        },
    )
    .unwrap();
    assert!(map.get(SIGNATURE_INPUT).is_none());
    let pending = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now).unwrap();
    assert_eq!(pending.scheme(), Scheme::Cavage);
    assert_eq!(pending.verify(A.public_key()), Ok(()));
}

#[test]
fn sign_request_refuses_bad_input() {
    let now = SystemTime::now();
    let mut map = HeaderMap::new();
    let url = Url::parse(INBOX).unwrap();
    for key_id in ["", "has\"quote", "back\\slash", "new\nline", "ünïcode"] {
        let err = sign_request(
            &Method::GET,
            &url,
            &mut map,
            None,
            &SignWith {
                key_id,
                key: &A,
                scheme: Scheme::Cavage,
                now,
            },
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid key id");
    }
    let err = sign_request(
        &Method::GET,
        &Url::parse("mailto:a@b.c").unwrap(),
        &mut map,
        None,
        &SignWith {
            key_id: KEY_ID,
            key: &A,
            scheme: Scheme::Rfc9421,
            now,
        },
    );
    assert!(err.is_err());
    let err = sign_request(
        &Method::GET,
        &Url::parse("data:text/plain,hi").unwrap(),
        &mut map,
        None,
        &SignWith {
            key_id: KEY_ID,
            key: &A,
            scheme: Scheme::Cavage,
            now,
        },
    );
    assert!(err.is_err());
}

/// Headers exactly as they travel: a reqwest client signs and sends to an axum
/// server on loopback, which verifies with the axum request's own types.
#[tokio::test]
async fn end_to_end_over_http() {
    use axum::body::Bytes;
    use axum::http::{StatusCode, Uri};
    use axum::routing::any;

    async fn check(method: Method, uri: Uri, map: HeaderMap, body: Bytes) -> (StatusCode, String) {
        let limits = VerifyLimits {
            target_scheme: TargetScheme::Http,
            ..VerifyLimits::default()
        };
        let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let body = (!body.is_empty()).then_some(&body[..]);
        match parse_request(&method, pq, &map, body, SystemTime::now(), &limits)
            .and_then(|p| p.verify(A.public_key()))
        {
            Ok(()) => (StatusCode::ACCEPTED, "ok".into()),
            Err(e) => (StatusCode::from_u16(e.status()).unwrap(), e.message()),
        }
    }

    let app = axum::Router::new().route("/{*path}", any(check));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        for (method, body, tamper) in [
            (Method::POST, Some(FOLLOW), false),
            (Method::GET, None, false),
            (Method::POST, Some(FOLLOW), true),
        ] {
            let url = Url::parse(&format!("http://{addr}/users/alice/inbox?q=1")).unwrap();
            let mut map = HeaderMap::new();
            map.insert(
                ACCEPT,
                HeaderValue::from_static("application/activity+json"),
            );
            sign_request(
                &method,
                &url,
                &mut map,
                body,
                &SignWith {
                    key_id: KEY_ID,
                    key: &A,
                    scheme,
                    now: SystemTime::now(),
                },
            )
            .unwrap();
            let mut request = client.request(method.clone(), url).headers(map);
            if let Some(body) = body {
                let body = if tamper {
                    body.to_ascii_uppercase()
                } else {
                    body.to_vec()
                };
                request = request.body(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            let expected = if tamper { 400 } else { 202 };
            assert_eq!(
                status, expected,
                "{scheme:?} {method} tamper={tamper}: {text}"
            );
        }
    }
    server.abort();
}

// ---------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------

#[test]
fn rejects_unsigned() {
    let map = headers(&[("host", "mastodon.example"), ("date", FIXED_DATE)]);
    let err = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err();
    assert_eq!(err, VerifyError::Unsigned);
    assert_eq!(err.status(), 401);
    // An Authorization header of another scheme is not a signature.
    let map = headers(&[
        ("host", "mastodon.example"),
        ("authorization", "Bearer abc"),
    ]);
    assert_eq!(
        parse_at(&Method::GET, INBOX, &map, None, fixed_now()).unwrap_err(),
        VerifyError::Unsigned
    );
}

#[test]
fn rejects_wrong_key() {
    let now = SystemTime::now();
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        let map = signed(&Method::POST, INBOX, Some(FOLLOW), scheme, &A, now);
        let err = verify_at(
            &Method::POST,
            INBOX,
            &map,
            Some(FOLLOW),
            now,
            B.public_key(),
        )
        .unwrap_err();
        assert_eq!(err, VerifyError::BadSignature);
        assert_eq!(err.status(), 401);
    }
}

#[test]
fn rejects_tampered_body() {
    let now = SystemTime::now();
    let tampered = FOLLOW.to_ascii_uppercase();
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        let map = signed(&Method::POST, INBOX, Some(FOLLOW), scheme, &A, now);
        let err = parse_at(&Method::POST, INBOX, &map, Some(&tampered), now).unwrap_err();
        assert_eq!(err, VerifyError::DigestMismatch);
        assert_eq!(err.status(), 400);
        // An empty or missing body does not match either.
        assert_eq!(
            parse_at(&Method::POST, INBOX, &map, None, now).unwrap_err(),
            VerifyError::DigestMismatch
        );
    }
}

#[test]
fn rejects_post_without_digest() {
    let date = httpdate::fmt_http_date(fixed_now());
    // Digest not covered.
    let map = hand_signed_cavage_post(
        "(request-target) host date",
        r#"algorithm="rsa-sha256","#,
        FOLLOW,
        &date,
    );
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::NotCovered("digest")
    );
    // Covered but the header is gone.
    let mut map = hand_signed_cavage_post("(request-target) host date digest", "", FOLLOW, &date);
    map.remove(DIGEST);
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::DigestMissing
    );
    // RFC 9421 without content-digest.
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": {INBOX}\n\"@signature-params\": (\"@method\" \"@target-uri\");created={FIXED_UNIX};keyid=\"{KEY_ID}\""
    );
    let map = headers(&[
        ("host", "mastodon.example"),
        (
            "signature-input",
            &format!("sig1=(\"@method\" \"@target-uri\");created={FIXED_UNIX};keyid=\"{KEY_ID}\""),
        ),
        ("signature", &format!("sig1=:{}:", sign_b64(&A, &base))),
    ]);
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::NotCovered("content-digest")
    );
    // ...which is fine for a GET.
    let base = base.replace("POST", "GET");
    let mut map = map.clone();
    map.insert(
        SIGNATURE,
        HeaderValue::from_str(&format!("sig1=:{}:", sign_b64(&A, &base))).unwrap(),
    );
    assert_eq!(
        verify_at(&Method::GET, INBOX, &map, None, fixed_now(), A.public_key()),
        Ok(())
    );
    // RFC 9421 covering content-digest without the header.
    let mut map = signed(
        &Method::POST,
        INBOX,
        Some(FOLLOW),
        Scheme::Rfc9421,
        &A,
        fixed_now(),
    );
    map.remove(CONTENT_DIGEST);
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::DigestMissing
    );
}

#[test]
fn rejects_header_tampered_after_signing() {
    let now = fixed_now();
    let later_date = httpdate::fmt_http_date(now + Duration::from_secs(1));
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        let original = signed(&Method::POST, INBOX, Some(FOLLOW), scheme, &A, now);
        let mut map = original.clone();
        map.insert(HOST, HeaderValue::from_static("evil.example"));
        assert_eq!(
            verify_at(
                &Method::POST,
                INBOX,
                &map,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Err(VerifyError::BadSignature)
        );
        // Same digest in another spelling: a different signed value.
        let mut map = original.clone();
        if scheme == Scheme::Cavage {
            let other = format!("sha-256={}", sha256_b64(FOLLOW));
            map.insert(DIGEST, HeaderValue::from_str(&other).unwrap());
        } else {
            let other = format!("sha-256=:{}:, md5=:AAAA:", sha256_b64(FOLLOW));
            map.insert(CONTENT_DIGEST, HeaderValue::from_str(&other).unwrap());
        }
        assert_eq!(
            verify_at(
                &Method::POST,
                INBOX,
                &map,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Err(VerifyError::BadSignature)
        );
        // Another path or method.
        let other_inbox = "https://mastodon.example/users/carol/inbox";
        assert_eq!(
            verify_at(
                &Method::POST,
                other_inbox,
                &original,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_at(
                &Method::PUT,
                INBOX,
                &original,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Err(VerifyError::BadSignature)
        );
    }
    // Cavage also covers Date and Accept.
    let mut map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Cavage, &A, now);
    map.insert(DATE, HeaderValue::from_str(&later_date).unwrap());
    assert_eq!(
        verify_at(
            &Method::POST,
            INBOX,
            &map,
            Some(FOLLOW),
            now,
            A.public_key()
        ),
        Err(VerifyError::BadSignature)
    );
    let mut map = HeaderMap::new();
    map.insert(
        ACCEPT,
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        &Method::GET,
        &Url::parse(INBOX).unwrap(),
        &mut map,
        None,
        &SignWith {
            key_id: KEY_ID,
            key: &A,
            scheme: Scheme::Cavage,
            now,
        },
    )
    .unwrap();
    map.insert(ACCEPT, HeaderValue::from_static("text/html"));
    assert_eq!(
        verify_at(&Method::GET, INBOX, &map, None, now, A.public_key()),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn rejects_host_not_covered() {
    let date = httpdate::fmt_http_date(fixed_now());
    let map = hand_signed_cavage_post("(request-target) date digest", "", FOLLOW, &date);
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::NotCovered("host")
    );
    let map = hand_signed_cavage_post("host date digest", "", FOLLOW, &date);
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::NotCovered("(request-target)")
    );
    let map = hand_signed_cavage_post("(request-target) host digest", "", FOLLOW, &date);
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
        VerifyError::NotCovered("date")
    );
    // RFC 9421 without a target or a method.
    for (components, missing) in [
        (r#"("@method" "content-digest")"#, "@target-uri"),
        (
            r#"("@method" "@authority" "content-digest")"#,
            "@target-uri",
        ),
        (r#"("@method" "@path" "content-digest")"#, "@target-uri"),
        (r#"("@target-uri" "content-digest")"#, "@method"),
    ] {
        let map = headers(&[
            ("host", "mastodon.example"),
            (
                "content-digest",
                &format!("sha-256=:{}:", sha256_b64(FOLLOW)),
            ),
            (
                "signature-input",
                &format!("sig1={components};created={FIXED_UNIX};keyid=\"{KEY_ID}\""),
            ),
            ("signature", "sig1=:AAAA:"),
        ]);
        assert_eq!(
            parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err(),
            VerifyError::NotCovered(missing),
            "{components}"
        );
    }
}

#[test]
fn rejects_stale_and_future_dates() {
    let signed_at = fixed_now();
    for scheme in [Scheme::Cavage, Scheme::Rfc9421] {
        let map = signed(&Method::POST, INBOX, Some(FOLLOW), scheme, &A, signed_at);
        let check = |now: SystemTime| {
            verify_at(
                &Method::POST,
                INBOX,
                &map,
                Some(FOLLOW),
                now,
                A.public_key(),
            )
        };
        assert_eq!(
            check(signed_at + Duration::from_secs(13 * 3600)),
            Err(VerifyError::TooOld),
            "{scheme:?}"
        );
        assert_eq!(
            check(signed_at - Duration::from_secs(2 * 3600)),
            Err(VerifyError::InFuture),
            "{scheme:?}"
        );
        // The edges of the window are inside.
        assert_eq!(check(signed_at + Duration::from_secs(12 * 3600)), Ok(()));
        assert_eq!(check(signed_at - Duration::from_secs(3600)), Ok(()));
        assert_eq!(VerifyError::TooOld.status(), 401);
    }
    // The window is configurable.
    let map = signed(
        &Method::POST,
        INBOX,
        Some(FOLLOW),
        Scheme::Cavage,
        &A,
        signed_at,
    );
    let strict = VerifyLimits {
        max_age: Duration::from_secs(300),
        ..VerifyLimits::default()
    };
    let err = parse_request(
        &Method::POST,
        "/users/alice/inbox",
        &map,
        Some(FOLLOW),
        signed_at + Duration::from_secs(301),
        &strict,
    );
    assert_eq!(err.unwrap_err(), VerifyError::TooOld);
}

#[test]
fn rejects_expired_and_bad_dates() {
    let now = fixed_now();
    // RFC 9421 `expires` more than the skew allowance in the past.
    let input = format!(
        r#"sig1=("@method" "@target-uri");created={};expires={};keyid="{KEY_ID}""#,
        FIXED_UNIX - 7200,
        FIXED_UNIX - 3601
    );
    let map = headers(&[
        ("host", "mastodon.example"),
        ("signature-input", &input),
        ("signature", "sig1=:AAAA:"),
    ]);
    assert_eq!(
        parse_at(&Method::GET, INBOX, &map, None, now).unwrap_err(),
        VerifyError::Expired
    );
    // Cavage Date that is not a date.
    let map = hand_signed_cavage_post("(request-target) host date digest", "", FOLLOW, "yesterday");
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now).unwrap_err(),
        VerifyError::InvalidDate("Date header")
    );
    // created that is not an integer.
    let input = format!(r#"sig1=("@method" "@target-uri");created="soon";keyid="{KEY_ID}""#);
    let map = headers(&[
        ("host", "mastodon.example"),
        ("signature-input", &input),
        ("signature", "sig1=:AAAA:"),
    ]);
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now).unwrap_err(),
        VerifyError::InvalidDate(_)
    ));
}

#[test]
fn rejects_malformed_headers() {
    let now = fixed_now();
    let cavage_cases = [
        "",
        "garbage",
        "keyId",
        r#"keyId="a""#,
        r#"signature="AAAA""#,
        r#"keyId="",signature="AAAA",headers="(request-target) host date digest""#,
        r#"keyId="a",signature="not base64!",headers="(request-target) host date digest""#,
        r#"keyId="a",signature="",headers="(request-target) host date digest""#,
        r#"keyId="a",signature="AAAA",headers="""#,
        r#"keyId="a",keyId="b",signature="AAAA",headers="(request-target) host date digest""#,
        r#"keyId="a",signature="AAAA",headers="(request-target) host date digest (bogus)""#,
        r#"keyId="a",signature="AAAA",headers="(request-target) host date digest""#
            .trim_end_matches('"'),
        r#"keyId="a" signature="AAAA""#,
        r#"sig1=:AAAA:"#,
    ];
    let date = httpdate::fmt_http_date(now);
    for value in cavage_cases {
        let digest = format!("SHA-256={}", sha256_b64(FOLLOW));
        let map = headers(&[
            ("host", "mastodon.example"),
            ("date", &date),
            ("digest", &digest),
            ("signature", value),
        ]);
        let result = verify_at(
            &Method::POST,
            INBOX,
            &map,
            Some(FOLLOW),
            now,
            A.public_key(),
        );
        assert!(
            matches!(
                result,
                Err(VerifyError::Malformed(_)) | Err(VerifyError::BadSignature)
            ),
            "{value}: {result:?}"
        );
    }
    let rfc_cases = [
        ("", "sig1=:AAAA:"),
        ("sig1", "sig1=:AAAA:"),
        ("sig1=\"@method\"", "sig1=:AAAA:"),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200"#,
            "sig1=:AAAA:",
        ),
        (r#"sig1=("@method" "@target-uri");keyid="k""#, "sig1=:AAAA:"),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200;keyid=k"#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200;keyid="k""#,
            "sig2=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200;keyid="k""#,
            "sig1=\"AAAA\"",
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200;keyid="k""#,
            "sig1=::",
        ),
        (
            r#"sig1=("@method" "@target-uri" "@method");created=1699351200;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri" "@status");created=1699351200;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri" "@query-param";name="a");created=1699351200;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri" "x-missing");created=1699351200;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri" @path);created=1699351200;keyid="k""#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200;keyid="k", sig1=("@method");created=1"#,
            "sig1=:AAAA:",
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1699351200;keyid="k""#,
            "",
        ),
    ];
    for (input, signature) in rfc_cases {
        let map = headers(&[
            ("host", "mastodon.example"),
            ("signature-input", input),
            ("signature", signature),
        ]);
        let result = verify_at(&Method::GET, INBOX, &map, None, now, A.public_key());
        assert!(
            matches!(
                result,
                Err(VerifyError::Malformed(_))
                    | Err(VerifyError::MissingHeader(_))
                    | Err(VerifyError::BadSignature)
            ),
            "{input} / {signature}: {result:?}"
        );
    }
    // Signature-Input without any Signature header.
    let map = headers(&[
        ("host", "mastodon.example"),
        ("signature-input", r#"sig1=("@method");created=1;keyid="k""#),
    ]);
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now),
        Err(VerifyError::Malformed(_))
    ));
    // Two Signature headers are ambiguous for cavage.
    let mut map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Cavage, &A, now);
    let again = map.get(SIGNATURE).unwrap().clone();
    map.append(SIGNATURE, again);
    assert!(matches!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now),
        Err(VerifyError::Malformed(_))
    ));
    // A bad request target.
    let map = signed(&Method::GET, INBOX, None, Scheme::Cavage, &A, now);
    for target in ["", "/a b", "/a\nb"] {
        let result = parse_request(
            &Method::GET,
            target,
            &map,
            None,
            now,
            &VerifyLimits::default(),
        );
        assert!(
            matches!(result, Err(VerifyError::Malformed(_))),
            "{target:?}"
        );
    }
}

#[test]
fn rejects_oversized_headers() {
    let now = fixed_now();
    let huge = format!(
        r#"keyId="a",signature="{}",headers="(request-target) host date""#,
        "A".repeat(9000)
    );
    let map = headers(&[("host", "mastodon.example"), ("signature", &huge)]);
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now),
        Err(VerifyError::TooLarge(_))
    ));
    let many = vec!["host"; 40].join(" ");
    let value = format!(r#"keyId="a",signature="AAAA",headers="(request-target) date {many}""#);
    let map = headers(&[
        ("host", "mastodon.example"),
        ("date", FIXED_DATE),
        ("signature", &value),
    ]);
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now),
        Err(VerifyError::TooLarge(_))
    ));
    let long_signature = format!(
        r#"keyId="a",signature="{}",headers="(request-target) host date""#,
        "A".repeat(2000)
    );
    let map = headers(&[
        ("host", "mastodon.example"),
        ("date", FIXED_DATE),
        ("signature", &long_signature),
    ]);
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now),
        Err(VerifyError::TooLarge(_))
    ));
    // RFC 9421: too many labels, and headers split over many lines adding up.
    let labels = (0..10)
        .map(|i| format!("s{i}=(\"@method\");created=1;keyid=\"k\""))
        .collect::<Vec<_>>()
        .join(", ");
    let map = headers(&[
        ("host", "mastodon.example"),
        ("signature-input", &labels),
        ("signature", "s0=:AAAA:"),
    ]);
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now),
        Err(VerifyError::Malformed(_))
    ));
    let mut map = headers(&[("host", "mastodon.example"), ("signature", "sig1=:AAAA:")]);
    for _ in 0..20 {
        map.append(
            SIGNATURE_INPUT,
            HeaderValue::from_str(&"a".repeat(500)).unwrap(),
        );
    }
    assert!(matches!(
        parse_at(&Method::GET, INBOX, &map, None, now),
        Err(VerifyError::TooLarge(_))
    ));
    // A covered header far larger than any real one.
    let digest = format!("SHA-256={}", sha256_b64(FOLLOW));
    let junk = "x".repeat(40 * 1024);
    let value = r#"keyId="a",signature="AAAA",headers="(request-target) host date digest x-junk""#;
    let map = headers(&[
        ("host", "mastodon.example"),
        ("date", FIXED_DATE),
        ("digest", &digest),
        ("x-junk", &junk),
        ("signature", value),
    ]);
    assert!(matches!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now),
        Err(VerifyError::TooLarge(_))
    ));
}

#[test]
fn rejects_unknown_algorithms() {
    let date = httpdate::fmt_http_date(fixed_now());
    for alg in [
        "rsa-sha512",
        "ed25519",
        "hmac-sha256",
        "rsa-sha1",
        "ecdsa-sha256",
    ] {
        let map = hand_signed_cavage_post(
            "(request-target) host date digest",
            &format!("algorithm=\"{alg}\","),
            FOLLOW,
            &date,
        );
        let err = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err();
        assert_eq!(err, VerifyError::UnsupportedAlgorithm(alg.to_owned()));
        assert_eq!(err.status(), 401);
    }
    // Hostile algorithm names are sanitized in the error message.
    let map = hand_signed_cavage_post(
        "(request-target) host date digest",
        "algorithm=\"<script>alert(1)</script>\",",
        FOLLOW,
        &date,
    );
    let err = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap_err();
    assert!(!err.message().contains('<'), "{}", err.message());

    for alg in ["ed25519", "rsa-pss-sha512", "hmac-sha256"] {
        let input = format!(
            r#"sig1=("@method" "@target-uri");created={FIXED_UNIX};keyid="{KEY_ID}";alg="{alg}""#
        );
        let map = headers(&[
            ("host", "mastodon.example"),
            ("signature-input", &input),
            ("signature", "sig1=:AAAA:"),
        ]);
        assert_eq!(
            parse_at(&Method::GET, INBOX, &map, None, fixed_now()).unwrap_err(),
            VerifyError::UnsupportedAlgorithm(alg.to_owned())
        );
    }
}

#[test]
fn rejects_created_pseudo_header_with_rsa_sha256() {
    let now = fixed_now();
    let value = format!(
        r#"keyId="{KEY_ID}",algorithm="rsa-sha256",created={FIXED_UNIX},headers="(request-target) (created) host digest",signature="AAAA""#
    );
    let digest = format!("SHA-256={}", sha256_b64(FOLLOW));
    let map = headers(&[
        ("host", "mastodon.example"),
        ("digest", &digest),
        ("signature", &value),
    ]);
    assert!(matches!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now),
        Err(VerifyError::Malformed(_))
    ));
    // (created) without a created parameter.
    let value = format!(
        r#"keyId="{KEY_ID}",algorithm="hs2019",headers="(request-target) (created) host digest",signature="AAAA""#
    );
    let map = headers(&[
        ("host", "mastodon.example"),
        ("digest", &digest),
        ("signature", &value),
    ]);
    assert!(matches!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now),
        Err(VerifyError::Malformed(_))
    ));
}

#[test]
fn rejects_key_pem_garbage() {
    let garbage = [
        "",
        "garbage",
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
        "\u{0}\u{ffff}-----BEGIN PUBLIC KEY-----\u{1f600}-----END PUBLIC KEY-----",
    ];
    for pem in garbage {
        assert!(PublicKey::from_pem(pem).is_err(), "{pem}");
        assert!(KeyPair::from_pem(pem).is_err(), "{pem}");
    }
    // Private keys are not public keys and vice versa.
    assert_eq!(
        PublicKey::from_pem(KEY_A).unwrap_err(),
        KeyError::UnsupportedLabel
    );
    assert_eq!(
        KeyPair::from_pem(&A.public_key_pem()).unwrap_err(),
        KeyError::UnsupportedLabel
    );
    // A PKCS#1 body under a PKCS#8 label is not a PKCS#8 key.
    let mislabelled = KEY_B_PKCS1.replace("RSA PRIVATE KEY", "PRIVATE KEY");
    assert_eq!(
        KeyPair::from_pem(&mislabelled).unwrap_err(),
        KeyError::Invalid
    );
    // Too small: the cavage draft's 1024-bit test key.
    assert_eq!(
        PublicKey::from_pem(CAVAGE_TEST_KEY_PUB).unwrap_err(),
        KeyError::KeySize(1024)
    );
    // Too large text.
    assert_eq!(
        PublicKey::from_pem(&"A".repeat(100_000)).unwrap_err(),
        KeyError::TooLarge
    );
}

// ---------------------------------------------------------------------------
// Interop vectors
// ---------------------------------------------------------------------------

#[test]
fn cavage_draft_12_all_headers_vector() {
    let body = br#"{"hello": "world"}"#;
    let url = "https://example.com/foo?param=value&pet=dog";
    let signature = "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=";
    let request_headers = [
        ("host", "example.com"),
        ("date", "Sun, 05 Jan 2014 21:31:40 GMT"),
        ("content-type", "application/json"),
        (
            "digest",
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        ),
        ("content-length", "18"),
    ];
    let now = httpdate::parse_http_date("Sun, 05 Jan 2014 21:31:40 GMT").unwrap();

    // The signing string printed in the draft, with the headers list that produces it.
    let mut map = headers(&request_headers);
    map.insert(
        SIGNATURE,
        HeaderValue::from_str(&format!(
            r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest content-length",signature="{signature}""#
        ))
        .unwrap(),
    );
    let pending = parse_at(&Method::POST, url, &map, Some(body), now).unwrap();
    assert_eq!(pending.key_id(), "Test");
    assert_eq!(
        std::str::from_utf8(pending.signing_string()).unwrap(),
        "(request-target): post /foo?param=value&pet=dog\n\
         host: example.com\n\
         date: Sun, 05 Jan 2014 21:31:40 GMT\n\
         content-type: application/json\n\
         digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n\
         content-length: 18"
    );
    // The published signature verifies over our signing string (1024-bit key: checked
    // with aws-lc-rs's legacy algorithm, since our policy refuses keys under 2048 bits).
    let der = pem_body(CAVAGE_TEST_KEY_PUB);
    let legacy = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        &der,
    );
    assert!(
        legacy
            .verify(pending.signing_string(), pending.signature())
            .is_ok()
    );

    // The same through `Authorization: Signature`, as the draft also shows.
    let mut map = headers(&request_headers);
    let value = map_signature_to_authorization(&format!(
        r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest content-length",signature="{signature}""#
    ));
    map.insert(AUTHORIZATION, value);
    let pending = parse_at(&Method::POST, url, &map, Some(body), now).unwrap();
    assert!(
        legacy
            .verify(pending.signing_string(), pending.signature())
            .is_ok()
    );

    // The header exactly as printed in draft 12 lists (created) and (expires) with
    // rsa-sha256, which the draft itself forbids: refused.
    let mut map = headers(&request_headers);
    map.insert(
        SIGNATURE,
        HeaderValue::from_str(&format!(
            r#"keyId="Test",algorithm="rsa-sha256", created=1402170695, expires=1402170699, headers="(request-target) (created) (expires) host date content-type digest content-length", signature="{signature}""#
        ))
        .unwrap(),
    );
    let now_created = UNIX_EPOCH + Duration::from_secs(1_402_170_695);
    assert!(matches!(
        parse_at(&Method::POST, url, &map, Some(body), now_created),
        Err(VerifyError::Malformed(_))
    ));

    // Basic and Default tests sign too little for our policy.
    let mut map = headers(&request_headers);
    map.insert(
        SIGNATURE,
        HeaderValue::from_static(r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=""#),
    );
    assert_eq!(
        parse_at(&Method::POST, url, &map, Some(body), now).unwrap_err(),
        VerifyError::NotCovered("digest")
    );
    let mut map = headers(&request_headers);
    map.insert(
        SIGNATURE,
        HeaderValue::from_static(r#"keyId="Test",algorithm="rsa-sha256",signature="SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=""#),
    );
    assert_eq!(
        parse_at(&Method::POST, url, &map, Some(body), now).unwrap_err(),
        VerifyError::NotCovered("(request-target)")
    );
}

fn map_signature_to_authorization(params: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Signature {params}")).unwrap()
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

const RFC_REQUEST_BODY: &[u8] = br#"{"hello": "world"}"#;
const RFC_CONTENT_DIGEST: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
const RFC_PROXY_SIGNATURE: &str = "S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==";

#[test]
fn rfc9421_rsa_v1_5_sha256_vector() {
    // RFC 9421 §4.3: the reverse proxy's signature, the RFC's one rsa-v1_5-sha256 example.
    let input = r#"proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540"#;
    let map = headers(&[
        ("host", "origin.host.internal.example"),
        ("date", "Tue, 20 Apr 2021 02:07:56 GMT"),
        ("content-type", "application/json"),
        ("content-length", "18"),
        ("forwarded", "for=192.0.2.123;host=example.com;proto=https"),
        ("content-digest", RFC_CONTENT_DIGEST),
        ("signature-input", input),
        ("signature", &format!("proxy_sig=:{RFC_PROXY_SIGNATURE}:")),
    ]);
    let now = at(1_618_884_480 + 30);
    let pending = parse_request(
        &Method::POST,
        "/foo?param=Value&Pet=dog",
        &map,
        Some(RFC_REQUEST_BODY),
        now,
        &VerifyLimits::default(),
    )
    .unwrap();
    assert_eq!(pending.key_id(), "test-key-rsa");
    assert_eq!(pending.label(), Some("proxy_sig"));
    let expected_base = "\"@method\": POST\n\
        \"@authority\": origin.host.internal.example\n\
        \"@path\": /foo\n\
        \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
        \"content-type\": application/json\n\
        \"content-length\": 18\n\
        \"forwarded\": for=192.0.2.123;host=example.com;proto=https\n\
        \"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid=\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540";
    assert_eq!(
        std::str::from_utf8(pending.signing_string()).unwrap(),
        expected_base
    );

    // The RFC's PKCS#1 public key verifies it through our API.
    let public = PublicKey::from_pem(RFC_TEST_KEY_RSA_PUB).unwrap();
    assert_eq!(public.bits(), 2048);
    assert_eq!(pending.verify(&public), Ok(()));
    assert_eq!(
        pending.verify(A.public_key()),
        Err(VerifyError::BadSignature)
    );

    // And the RFC's PKCS#1 private key reproduces the published signature exactly.
    let private = KeyPair::from_pem(RFC_TEST_KEY_RSA_PRIV).unwrap();
    assert_eq!(private.public_key(), &public);
    assert_eq!(
        STANDARD.encode(private.sign_sha256(expected_base.as_bytes()).unwrap()),
        RFC_PROXY_SIGNATURE
    );

    // A tampered body is caught by the (sha-512) Content-Digest.
    let err = parse_request(
        &Method::POST,
        "/foo?param=Value&Pet=dog",
        &map,
        Some(b"{\"hello\": \"World\"}"),
        now,
        &VerifyLimits::default(),
    );
    assert_eq!(err.unwrap_err(), VerifyError::DigestMismatch);
    // After `expires` (plus the clock-skew allowance) it is refused.
    let err = parse_request(
        &Method::POST,
        "/foo?param=Value&Pet=dog",
        &map,
        Some(RFC_REQUEST_BODY),
        at(1_618_884_540 + 3601),
        &VerifyLimits::default(),
    );
    assert_eq!(err.unwrap_err(), VerifyError::Expired);
}

#[test]
fn rfc9421_b23_signature_base_matches_rsa_pss_vector() {
    // RFC 9421 Appendix B.2.3 "Full Coverage using rsa-pss-sha512". We only verify
    // rsa-v1_5-sha256 in production, so the PSS signature is checked here directly.
    let input = r#"sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#;
    let signature = "bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==";
    let map = headers(&[
        ("host", "example.com"),
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", "application/json"),
        ("content-digest", RFC_CONTENT_DIGEST),
        ("content-length", "18"),
        ("signature-input", input),
        ("signature", &format!("sig-b23=:{signature}:")),
    ]);
    let pending = parse_request(
        &Method::POST,
        "/foo?param=Value&Pet=dog",
        &map,
        Some(RFC_REQUEST_BODY),
        at(1_618_884_473),
        &VerifyLimits::default(),
    )
    .unwrap();
    let expected_base = "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
        \"@method\": POST\n\
        \"@path\": /foo\n\
        \"@query\": ?param=Value&Pet=dog\n\
        \"@authority\": example.com\n\
        \"content-type\": application/json\n\
        \"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n\
        \"content-length\": 18\n\
        \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\"";
    assert_eq!(
        std::str::from_utf8(pending.signing_string()).unwrap(),
        expected_base
    );
    let public = PublicKey::from_pem(RFC_TEST_KEY_RSA_PSS_PUB).unwrap();
    let pss = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA512,
        public.spki_der(),
    );
    assert!(
        pss.verify(pending.signing_string(), pending.signature())
            .is_ok()
    );
    // Through our API (PKCS#1 v1.5 only) it does not verify.
    assert_eq!(pending.verify(&public), Err(VerifyError::BadSignature));
}

/// The self-made cavage vector: the signing string Mastodon would build for this
/// request, and its signature by KEY_A computed with
/// `openssl dgst -sha256 -sign a.pem` over exactly that string.
const MASTODON_STYLE_SIGNING_STRING: &str = "(request-target): post /users/alice/inbox
host: mastodon.example
date: Tue, 07 Nov 2023 10:00:00 GMT
digest: SHA-256=JQkWuH4+Va/sjSc3WSEuO3X7He/Hsnf51KaspYCrmuw=";
const MASTODON_STYLE_SIGNATURE: &str = "CBbpUre/ywIVJsOc6sb/1pUt10CAJ19l8EP0gMOh7N7xe496BXY40Rnvw7utftBsqb8qSC2a0YZzQbK3MjV9x7A8LZuVtukKE/gxCe5UbJX96NDB33/zBLupfv1z1UzGOLUoepD//sSzeDGCIGXWLCoA7rE0qK6LpqKlUkVSOR0YU3w4yhekh4gSBTsuiNDx6k6sk3C6i7PT/a60DU21Z8O/o/bRoSY5PRvVt4etK4y9vGQVEmM39BgjtYprwBKf7TsL/pJSrkS15NmBnh5rJuGZdXzl1UL8mox+iy5etqXBHDFlytdbZZGMu0EwL/sR4ZNcO8QKxjZugHXSMUicog==";

#[test]
fn mastodon_style_cavage_post_by_hand() {
    assert_eq!(httpdate::fmt_http_date(fixed_now()), FIXED_DATE);
    let signature_value = format!(
        r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="{MASTODON_STYLE_SIGNATURE}""#
    );
    let map = headers(&[
        ("Host", "mastodon.example"),
        ("Date", FIXED_DATE),
        (
            "Digest",
            "SHA-256=JQkWuH4+Va/sjSc3WSEuO3X7He/Hsnf51KaspYCrmuw=",
        ),
        ("Content-Type", "application/activity+json"),
        (
            "User-Agent",
            "http.rb/5.1.1 (Mastodon/4.2.0; +https://sender.example/)",
        ),
        ("Signature", &signature_value),
    ]);
    let pending = parse_at(
        &Method::POST,
        INBOX,
        &map,
        Some(FOLLOW),
        fixed_now() + Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(
        std::str::from_utf8(pending.signing_string()).unwrap(),
        MASTODON_STYLE_SIGNING_STRING
    );
    assert_eq!(pending.verify(A.public_key()), Ok(()));

    // Our signer produces byte-identical headers for the same request.
    let ours = signed(
        &Method::POST,
        INBOX,
        Some(FOLLOW),
        Scheme::Cavage,
        &A,
        fixed_now(),
    );
    assert_eq!(signature_header(&ours), signature_value);
    for name in [HOST, DATE, DIGEST] {
        assert_eq!(ours.get(&name), map.get(&name), "{name}");
    }
}

#[test]
fn mastodon_style_cavage_get_with_query_by_hand() {
    let url = "https://mastodon.example/users/alice?page=1";
    let signature = "tEcpyidL4JUwO9HkcJWYlsT0VERXyx0ES8hgY7e7QivvPUdsIc9YP6GjnVa5cq9DN8di/gwiuNABp7cs6qAfHbPs749SM4nGCruY57GtIgcO0A2K7LgB/6ZoD0waAFwVY95D/NCJ9jgnc3kfRmi1C2n5biUAC5e/F4eQM4uyc6Sv22G03yU1tJpDf7KrcbpUXZJ4ew6qWSQtv2nEY6FLUZjXW03Zl6yK+xcUj4AwPtw7al5lMDhvhcTkA4VJyzvWfmCs74BrBZJz7PIGFkfB/y4GGXhqe2hpvZjiBaJdp+E76FldWEs+1yGdjawclGmXH6Vz/EmcMNQQy82EVKNLJA==";
    let map = headers(&[
        ("host", "mastodon.example"),
        ("date", FIXED_DATE),
        ("accept", "application/activity+json"),
        (
            "signature",
            &format!(
                r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date accept",signature="{signature}""#
            ),
        ),
    ]);
    let pending = parse_at(&Method::GET, url, &map, None, fixed_now()).unwrap();
    assert_eq!(
        std::str::from_utf8(pending.signing_string()).unwrap(),
        "(request-target): get /users/alice?page=1\nhost: mastodon.example\ndate: Tue, 07 Nov 2023 10:00:00 GMT\naccept: application/activity+json"
    );
    assert_eq!(pending.verify(A.public_key()), Ok(()));

    // Older Mastodon and Fedify sign (request-target) without the query: accepted too.
    let legacy = sign_b64(
        &A,
        "(request-target): get /users/alice\nhost: mastodon.example\ndate: Tue, 07 Nov 2023 10:00:00 GMT",
    );
    let map = headers(&[
        ("host", "mastodon.example"),
        ("date", FIXED_DATE),
        (
            "signature",
            &format!(
                r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date",signature="{legacy}""#
            ),
        ),
    ]);
    assert_eq!(
        verify_at(&Method::GET, url, &map, None, fixed_now(), A.public_key()),
        Ok(())
    );
    // ...but not for another query.
    assert_eq!(
        verify_at(
            &Method::GET,
            "https://mastodon.example/users/bob?page=1",
            &map,
            None,
            fixed_now(),
            A.public_key()
        ),
        Err(VerifyError::BadSignature)
    );
}

/// The self-made RFC 9421 vector: base and signature by KEY_A computed with
/// `openssl dgst -sha256 -sign a.pem` over exactly this base.
const RFC9421_SELF_MADE_BASE: &str = r#""@method": POST
"@target-uri": https://mastodon.example/users/alice/inbox
"content-digest": sha-256=:JQkWuH4+Va/sjSc3WSEuO3X7He/Hsnf51KaspYCrmuw=:
"@signature-params": ("@method" "@target-uri" "content-digest");created=1699351200;keyid="https://sender.example/users/bob#main-key";alg="rsa-v1_5-sha256""#;
const RFC9421_SELF_MADE_SIGNATURE: &str = "rms2OydWz8ijZkoeUEdw6q6VQtxJGWTHUecFkrkWHK2XAWKQ9xbR77RXX0PQUMJJpXTpvH9RsQD980X5zDr+ord5vlEdHO1uyokvGdByFX1NNasaY4SakgLW5enyA6SoH6JK8KDfYh5aPdpq5FnAZLl8IUGtmwWoW6aMXxgLmc39+vRG+oK49VGSPNh5mYvmdRZJaChU4byMAoUpjZ84ALXQLfFUN6KfPQggxnCFfrFX1f0FDlotCAGxzG5LDIoRPi5p6sG2cDF9H1TLwGtsmlcecMGjIP/SXIqwTjbn0vgS6vwEcqzTx9HuYZzTrvJLwlFyXbUQfcYOuIzEs6rKWg==";

#[test]
fn rfc9421_self_made_vector() {
    let map = signed(
        &Method::POST,
        INBOX,
        Some(FOLLOW),
        Scheme::Rfc9421,
        &A,
        fixed_now(),
    );
    assert_eq!(
        map.get(SIGNATURE_INPUT).unwrap(),
        r#"sig1=("@method" "@target-uri" "content-digest");created=1699351200;keyid="https://sender.example/users/bob#main-key";alg="rsa-v1_5-sha256""#
    );
    assert_eq!(
        map.get(CONTENT_DIGEST).unwrap(),
        "sha-256=:JQkWuH4+Va/sjSc3WSEuO3X7He/Hsnf51KaspYCrmuw=:"
    );
    assert_eq!(
        map.get(SIGNATURE).unwrap().to_str().unwrap(),
        format!("sig1=:{RFC9421_SELF_MADE_SIGNATURE}:")
    );
    let pending = parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), fixed_now()).unwrap();
    assert_eq!(
        std::str::from_utf8(pending.signing_string()).unwrap(),
        RFC9421_SELF_MADE_BASE
    );
    assert_eq!(pending.verify(A.public_key()), Ok(()));
}

// ---------------------------------------------------------------------------
// Tolerance
// ---------------------------------------------------------------------------

#[test]
fn digest_casing_and_multiple_digests() {
    let now = fixed_now();
    let b64 = sha256_b64(FOLLOW);
    let b512 = STANDARD.encode(sha2::Sha512::digest(FOLLOW));
    for digest in [
        format!("SHA-256={b64}"),
        format!("sha-256={b64}"),
        format!("Sha-256={b64}"),
        format!("SHA-512={b512}, SHA-256={b64}"),
        format!("MD5=Sd/dVLAcvNLSq16eXua5uQ==,SHA-256={b64}"),
    ] {
        let signing_string = format!(
            "(request-target): post /users/alice/inbox\nhost: mastodon.example\ndate: {FIXED_DATE}\ndigest: {digest}"
        );
        let value = format!(
            r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="{}""#,
            sign_b64(&A, &signing_string)
        );
        // The header name's casing does not matter either.
        let map = headers(&[
            ("HOST", "mastodon.example"),
            ("DATE", FIXED_DATE),
            ("DIGEST", &digest),
            ("SIGNATURE", &value),
        ]);
        assert_eq!(
            verify_at(
                &Method::POST,
                INBOX,
                &map,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Ok(()),
            "{digest}"
        );
    }
    // No SHA-256 (or SHA-512) offered.
    let map = hand_signed_cavage_post("(request-target) host date digest", "", FOLLOW, FIXED_DATE);
    let mut map = map.clone();
    map.insert(
        DIGEST,
        HeaderValue::from_static("MD5=Sd/dVLAcvNLSq16eXua5uQ=="),
    );
    assert_eq!(
        parse_at(&Method::POST, INBOX, &map, Some(FOLLOW), now).unwrap_err(),
        VerifyError::DigestUnsupported
    );
}

#[test]
fn hs2019_absent_algorithm_and_created() {
    let now = fixed_now();
    for params in [
        r#"algorithm="hs2019","#,
        r#"algorithm="HS2019","#,
        "",
        r#"algorithm="RSA-SHA256","#,
    ] {
        let map = hand_signed_cavage_post(
            "(request-target) host date digest",
            params,
            FOLLOW,
            FIXED_DATE,
        );
        assert_eq!(
            verify_at(
                &Method::POST,
                INBOX,
                &map,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Ok(()),
            "{params}"
        );
    }
    // hs2019 with (created) and (expires) instead of Date.
    let digest = format!("SHA-256={}", sha256_b64(FOLLOW));
    let created = FIXED_UNIX - 10;
    let expires = FIXED_UNIX + 300;
    let signing_string = format!(
        "(request-target): post /users/alice/inbox\n(created): {created}\n(expires): {expires}\nhost: mastodon.example\ndigest: {digest}"
    );
    let value = format!(
        r#"keyId="{KEY_ID}", algorithm="hs2019", created={created}, expires={expires}, headers="(request-target) (created) (expires) host digest", signature="{}""#,
        sign_b64(&A, &signing_string)
    );
    let map = headers(&[
        ("host", "mastodon.example"),
        ("digest", &digest),
        ("signature", &value),
    ]);
    assert_eq!(
        verify_at(
            &Method::POST,
            INBOX,
            &map,
            Some(FOLLOW),
            now,
            A.public_key()
        ),
        Ok(())
    );
    // created out of the window.
    assert_eq!(
        verify_at(
            &Method::POST,
            INBOX,
            &map,
            Some(FOLLOW),
            now + Duration::from_secs(13 * 3600),
            A.public_key()
        ),
        Err(VerifyError::TooOld)
    );
}

#[test]
fn authorization_signature_header() {
    let now = SystemTime::now();
    let map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Cavage, &A, now);
    let mut moved = map.clone();
    let value = moved.remove(SIGNATURE).unwrap();
    moved.insert(
        AUTHORIZATION,
        map_signature_to_authorization(value.to_str().unwrap()),
    );
    assert_eq!(
        verify_at(
            &Method::POST,
            INBOX,
            &moved,
            Some(FOLLOW),
            now,
            A.public_key()
        ),
        Ok(())
    );
    let lower = HeaderValue::from_str(&format!("signature {}", value.to_str().unwrap())).unwrap();
    moved.insert(AUTHORIZATION, lower);
    assert_eq!(
        verify_at(
            &Method::POST,
            INBOX,
            &moved,
            Some(FOLLOW),
            now,
            A.public_key()
        ),
        Ok(())
    );
}

#[test]
fn cavage_parameter_order_and_spacing() {
    let now = fixed_now();
    let map = signed(&Method::POST, INBOX, Some(FOLLOW), Scheme::Cavage, &A, now);
    let original = signature_header(&map);
    let params: Vec<(&str, &str)> = original
        .split(',')
        .map(|param| param.split_once('=').unwrap())
        .collect();
    let reordered = format!(
        "  {}={} , {}={},{}={} ,  {}={}  ",
        params[3].0,
        params[3].1,
        params[2].0,
        params[2].1,
        params[0].0,
        params[0].1,
        params[1].0,
        params[1].1
    );
    let spaced = [1, 3, 0, 2]
        .iter()
        .map(|&i| format!("{} = {}", params[i].0, params[i].1))
        .collect::<Vec<_>>()
        .join(" ,\t");
    for value in [reordered, spaced] {
        let mut map = map.clone();
        map.insert(SIGNATURE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(
            verify_at(
                &Method::POST,
                INBOX,
                &map,
                Some(FOLLOW),
                now,
                A.public_key()
            ),
            Ok(()),
            "{value}"
        );
    }
}

#[test]
fn rfc9421_tolerates_extra_params_spacing_and_split_headers() {
    let now = fixed_now();
    let digest = format!("sha-256=:{}:", sha256_b64(FOLLOW));
    let url = "https://mastodon.example/users/alice/inbox?a=1";
    // @authority + @path + @query instead of @target-uri, with nonce and tag, no alg.
    let params = format!(
        r#"("@method" "@authority" "@path" "@query" "content-digest" "host");created={FIXED_UNIX};keyid="{KEY_ID}";nonce="abc";tag="activitypub""#
    );
    let base = format!(
        "\"@method\": POST\n\"@authority\": mastodon.example\n\"@path\": /users/alice/inbox\n\"@query\": ?a=1\n\"content-digest\": {digest}\n\"host\": Mastodon.Example\n\"@signature-params\": {params}"
    );
    let signature = sign_b64(&A, &base);
    // Non-canonical spacing in the header, another signature label after ours, and the
    // Signature header split over two lines.
    let input = format!(
        r#"  activitypub=( "@method"  "@authority" "@path" "@query" "content-digest" "host" );created={FIXED_UNIX};keyid="{KEY_ID}";nonce="abc";tag="activitypub" ,	other=("@method");created=1;keyid="x""#
    );
    let mut map = headers(&[
        ("host", "Mastodon.Example"),
        ("content-digest", &digest),
        ("signature-input", &input),
        ("signature", "other=:AAAA:"),
    ]);
    map.append(
        SIGNATURE,
        HeaderValue::from_str(&format!("activitypub=:{signature}:")).unwrap(),
    );
    let pending = parse_at(&Method::POST, url, &map, Some(FOLLOW), now).unwrap();
    assert_eq!(pending.label(), Some("activitypub"));
    assert_eq!(std::str::from_utf8(pending.signing_string()).unwrap(), base);
    assert_eq!(pending.verify(A.public_key()), Ok(()));

    // The first label that fails policy is skipped for a later one that passes.
    let mut map2 = map.clone();
    map2.insert(
        SIGNATURE_INPUT,
        HeaderValue::from_str(&format!(
            r#"old=("@method" "@target-uri");created=1;keyid="x", {}"#,
            input.trim()
        ))
        .unwrap(),
    );
    map2.append(SIGNATURE, HeaderValue::from_static("old=:AAAA:"));
    let pending = parse_at(&Method::POST, url, &map2, Some(FOLLOW), now).unwrap();
    assert_eq!(pending.label(), Some("activitypub"));
    assert_eq!(pending.verify(A.public_key()), Ok(()));
}

#[test]
fn escaped_and_sloppy_public_key_pem() {
    let pem = A.public_key_pem();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
            && pem.ends_with("-----END PUBLIC KEY-----\n")
    );
    assert!(pem.lines().all(|l| l.len() <= 64));
    let variants = [
        pem.replace('\n', "\\n"),
        pem.replace('\n', "\r\n"),
        pem.replace('\n', "\\r\\n"),
        format!("\n\n   {}   \n", pem.replace('\n', "\n  ")),
        pem.trim_end().to_owned(),
        pem.lines().map(str::trim).collect::<Vec<_>>().join(""),
        serde_json::to_string(&pem)
            .unwrap()
            .trim_matches('"')
            .to_owned(),
    ];
    for variant in variants {
        assert_eq!(
            &PublicKey::from_pem(&variant).unwrap(),
            A.public_key(),
            "{variant:?}"
        );
    }
    // PKCS#1 public keys too (the RFC 9421 test key is one).
    assert!(PublicKey::from_pem(&RFC_TEST_KEY_RSA_PUB.replace('\n', "\\n")).is_ok());
    // And private keys written by us come back.
    let again = KeyPair::from_pem(&A.to_pem().unwrap().replace('\n', "\r\n")).unwrap();
    assert_eq!(again.public_key(), A.public_key());
    assert!(!format!("{:?}", *A).contains("MII"));
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

fn header_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,300}",
        // Cavage-shaped.
        r#"(keyId|algorithm|headers|signature|created|expires|keyid)=("[ -!#-~]{0,60}"|[0-9]{1,12})(, ?(keyId|algorithm|headers|signature|created|expires)=("[ -!#-~]{0,60}"|[0-9]{1,12})){0,6}"#,
        // RFC 9421-shaped.
        r#"[a-z][a-z0-9-]{0,6}=\(("@?[a-z-]{0,12}" ?){0,6}\)(;(created|expires|keyid|alg|nonce)=("[ -!#-~]{0,30}"|[0-9]{1,12})){0,5}"#,
        r#"[a-z][a-z0-9-]{0,6}=:[A-Za-z0-9+/=]{0,400}:"#,
        // Digest-shaped.
        r#"((SHA|sha|Sha)-(256|512)|MD5)=:?[A-Za-z0-9+/=]{0,60}:?(, ?(SHA|sha)-256=[A-Za-z0-9+/=]{0,50}){0,3}"#,
    ]
}

fn optional_header() -> impl Strategy<Value = Option<String>> {
    prop::option::of(header_text())
}

fn insert_raw(map: &mut HeaderMap, name: &'static str, value: &Option<String>) {
    if let Some(value) = value
        && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
    {
        map.append(HeaderName::from_static(name), value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Arbitrary signature, digest and date headers and bodies: parsing never panics,
    /// and nothing random ever verifies.
    #[test]
    fn arbitrary_headers_never_panic_and_never_verify(
        signature in optional_header(),
        signature_input in optional_header(),
        digest in optional_header(),
        content_digest in optional_header(),
        date in prop_oneof![optional_header(), Just(Some(FIXED_DATE.to_owned()))],
        authorization in optional_header(),
        host in prop_oneof![Just(Some("mastodon.example".to_owned())), optional_header()],
        body in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
        post in any::<bool>(),
        path in "/[!-~]{0,40}",
    ) {
        let mut map = HeaderMap::new();
        insert_raw(&mut map, "signature", &signature);
        insert_raw(&mut map, "signature-input", &signature_input);
        insert_raw(&mut map, "digest", &digest);
        insert_raw(&mut map, "content-digest", &content_digest);
        insert_raw(&mut map, "date", &date);
        insert_raw(&mut map, "authorization", &authorization);
        insert_raw(&mut map, "host", &host);
        let method = if post { Method::POST } else { Method::GET };
        if let Ok(pending) = parse_request(&method, &path, &map, body.as_deref(), fixed_now(), &VerifyLimits::default()) {
            prop_assert!(pending.verify(A.public_key()).is_err());
            prop_assert!(pending.signing_string().len() <= sluice_federation::signatures::MAX_SIGNING_STRING_LEN);
        }
    }

    /// A correctly signed request with one byte of a signed part changed (a header
    /// value, the body or the path) never verifies.
    #[test]
    fn tampered_signed_requests_never_verify(
        rfc9421 in any::<bool>(),
        post in any::<bool>(),
        part in 0usize..5,
        position in any::<prop::sample::Index>(),
        replacement in prop::sample::select(b"0123456789%~".to_vec()),
    ) {
        let scheme = if rfc9421 { Scheme::Rfc9421 } else { Scheme::Cavage };
        let method = if post { Method::POST } else { Method::GET };
        let url = "https://mastodon.example/users/alice/inbox?page=2";
        let body = post.then_some(FOLLOW);
        let mut map = HeaderMap::new();
        map.insert(ACCEPT, HeaderValue::from_static("application/activity+json"));
        sign_request(&method, &Url::parse(url).unwrap(), &mut map, body, &SignWith { key_id: KEY_ID, key: &A, scheme, now: fixed_now() }).unwrap();
        // The untouched request verifies, so every failure below is the tampering's.
        prop_assert_eq!(
            verify_at(&method, url, &map, body, fixed_now(), A.public_key()),
            Ok(())
        );
        let mut body = body.map(<[u8]>::to_vec);
        let mut path = path_and_query(url).into_bytes();

        let mutate = |bytes: &mut Vec<u8>| {
            let i = position.index(bytes.len());
            if bytes[i] == replacement { bytes[i] = b'_' } else { bytes[i] = replacement }
        };
        let header = match part {
            0 => Some(HOST),
            1 if scheme == Scheme::Cavage => Some(DATE),
            1 => Some(SIGNATURE_INPUT),
            2 if post && scheme == Scheme::Cavage => Some(DIGEST),
            2 if post => Some(CONTENT_DIGEST),
            2 if scheme == Scheme::Cavage => Some(ACCEPT),
            _ => None,
        };
        match (header, part) {
            (Some(name), _) => {
                let mut value = map.get(&name).unwrap().as_bytes().to_vec();
                mutate(&mut value);
                map.insert(name, HeaderValue::from_bytes(&value).unwrap());
            }
            (None, 3) if body.is_some() => mutate(body.as_mut().unwrap()),
            (None, _) => {
                // Keep the leading slash.
                let mut rest = path.split_off(1);
                mutate(&mut rest);
                path.extend(rest);
            }
        }
        let path = String::from_utf8(path).unwrap();
        let result = parse_request(&method, &path, &map, body.as_deref(), fixed_now(), &VerifyLimits::default())
            .and_then(|pending| pending.verify(A.public_key()));
        prop_assert!(result.is_err(), "part {part} of {scheme:?} {method}: {map:?} {path}");
    }

    /// PEM parsing never panics on arbitrary text, nor on a real key with a byte changed.
    #[test]
    fn pem_parsing_never_panics(
        text in any::<String>(),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let _ = PublicKey::from_pem(&text);
        let _ = KeyPair::from_pem(&text);
        let mut pem = A.public_key_pem().into_bytes();
        let i = position.index(pem.len());
        pem[i] = byte;
        let pem = String::from_utf8_lossy(&pem);
        if let Ok(key) = PublicKey::from_pem(&pem) {
            prop_assert!(key.bits() >= 2048);
        }
        let mut private = KEY_B_PKCS1.as_bytes().to_vec();
        let i = position.index(private.len());
        private[i] = byte;
        let _ = KeyPair::from_pem(&String::from_utf8_lossy(&private));
    }
}
