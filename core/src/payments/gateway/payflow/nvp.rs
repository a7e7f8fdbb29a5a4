//! Payflow's name-value pairs: `NAME=value&…`, never URL-encoded; a value that holds `&` or `=`
//! carries its length in characters as a tag, `NAME[14]=Ruff & Johnson` (`payments.md` §1.3).

use std::collections::BTreeMap;

/// Joins pairs, tagging the values that need it (as Evergreen does).
pub fn encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            if value.contains(['&', '=']) {
                format!("{name}[{}]={value}", value.chars().count())
            } else {
                format!("{name}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NvpError {
    #[error("pair without `=` at character {0}")]
    NoEquals(usize),
    #[error("bad length tag on `{0}`")]
    BadTag(String),
    #[error("value of `{0}` is shorter than its length tag")]
    Short(String),
}

/// Splits pairs, honouring length tags: a tagged value is exactly that many characters, even
/// when it holds `&` or `=`.
pub fn decode(text: &str) -> Result<BTreeMap<String, String>, NvpError> {
    let mut out = BTreeMap::new();
    let mut rest = text.trim_end_matches(['\r', '\n']);
    let consumed = |rest: &str| text.len() - rest.len();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or(NvpError::NoEquals(consumed(rest)))?;
        let raw_name = &rest[..eq];
        let after = &rest[eq + 1..];
        let (name, value, remaining) = match raw_name.split_once('[') {
            Some((name, tag)) => {
                let len: usize = tag
                    .strip_suffix(']')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| NvpError::BadTag(raw_name.to_owned()))?;
                let end = after
                    .char_indices()
                    .nth(len)
                    .map(|(i, _)| i)
                    .or_else(|| (after.chars().count() == len).then_some(after.len()))
                    .ok_or_else(|| NvpError::Short(name.to_owned()))?;
                (name, &after[..end], &after[end..])
            }
            None => {
                let end = after.find('&').unwrap_or(after.len());
                (raw_name, &after[..end], &after[end..])
            }
        };
        out.insert(name.to_owned(), value.to_owned());
        rest = remaining.strip_prefix('&').unwrap_or(remaining);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_tags_carry_ampersands_and_equals() {
        let pairs =
            [("COMPANYNAME", "Ruff & Johnson".to_owned()), ("COMMENT1", "Level=5".to_owned())];
        let text = encode(&pairs);
        assert_eq!(text, "COMPANYNAME[14]=Ruff & Johnson&COMMENT1[7]=Level=5");
        let back = decode(&text).unwrap();
        assert_eq!(back["COMPANYNAME"], "Ruff & Johnson");
        assert_eq!(back["COMMENT1"], "Level=5");
    }

    #[test]
    fn decodes_the_documented_secure_token_answer() {
        let text = "RESULT=0&RESPMSG=Approved&SECURETOKEN[25]=Fj+1AFUWft0+I0CUFOKh5WA==&SECURETOKENID=9a9ea8208de1413abc3d60c86cb1f4c5";
        let f = decode(text).unwrap();
        assert_eq!(f["RESULT"], "0");
        assert_eq!(f["SECURETOKEN"], "Fj+1AFUWft0+I0CUFOKh5WA==");
        assert_eq!(f["SECURETOKENID"], "9a9ea8208de1413abc3d60c86cb1f4c5");
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(decode("RESULT").is_err());
        assert!(decode("NAME[x]=1").is_err());
        assert_eq!(decode("NAME[9]=short"), Err(NvpError::Short("NAME".into())));
        assert_eq!(decode("A=&B=2").unwrap()["A"], "");
    }
}
