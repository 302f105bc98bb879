//! Nesting-depth checks that run before anything recursive touches the document, so a
//! deeply nested input cannot exhaust the stack (of serde_json's parser, of our own
//! recursive reader, or of the value's destructor).

use serde_json::Value;

/// Whether the raw JSON text nests arrays/objects deeper than `max`.
///
/// Counts `[` and `{` outside strings (tracking `"` and backslash escapes), without
/// validating anything else: a malformed text that stays within the limit is left for
/// serde_json to reject. Multi-byte UTF-8 sequences never contain ASCII bytes, so a
/// byte scan is exact.
pub(super) fn bytes_exceed(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Whether a JSON value nests arrays/objects deeper than `max` (the root container is
/// depth 1). Iterative, so it is safe on any value.
pub(super) fn value_exceeds(v: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(m) => Box::new(m.values()),
            _ => continue,
        };
        if d > max {
            return true;
        }
        stack.extend(
            children
                .filter(|c| c.is_array() || c.is_object())
                .map(|c| (c, d + 1)),
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_strings_only() {
        assert!(!bytes_exceed(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(bytes_exceed(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!bytes_exceed(br#"{"a":"[[[[[[{{{{\"[[[["}"#, 1));
        assert!(!bytes_exceed(br#"{"a":"\\"}"#, 1));
        assert!(bytes_exceed(br#"{"a":"\\",  "b": []}"#, 1));
    }

    #[test]
    fn value_depth() {
        let v: Value = serde_json::from_str(r#"{"a":[1,{"b":2}]}"#).unwrap();
        assert!(!value_exceeds(&v, 3));
        assert!(value_exceeds(&v, 2));
        assert!(!value_exceeds(&Value::Null, 0));
    }
}
