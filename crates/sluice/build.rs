//! Link settings of the `sluice` binary.
//!
//! On Linux with glibc, the binary is linked with packed relative relocations
//! (`-z pack-relative-relocs`, DT_RELR): a position-independent Rust binary carries
//! tens of thousands of relative relocations (vtables, string tables, panic locations),
//! which the classic `.rela.dyn` format spends 24 bytes each on, about 1 MiB that every
//! process reads at start and keeps mapped. Packed, they take a few KiB
//! (docs/benchmarks.md, "Memory of the whole server"). Needs binutils 2.38 and glibc
//! 2.36 or newer; the linker is tried first, and without support the binary is linked
//! as before.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && linker_packs_relocations() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the C compiler rustc links with (`cc`, or `$CC`) links a program with
/// packed relative relocations. Cross builds are left as they are.
fn linker_packs_relocations() -> bool {
    if std::env::var("HOST").ok() != std::env::var("TARGET").ok() {
        return false;
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("relr_probe.c");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc)
        .arg("-Wl,-z,pack-relative-relocs")
        .arg(&source)
        .arg("-o")
        .arg(out.join("relr_probe"))
        .output()
        .is_ok_and(|o| o.status.success())
}
