//! English and Norwegian (`no`): the two languages tollbooth writes in, for chat replies,
//! direct messages and pages alike. The words themselves are in `messages`.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    No,
}

impl Lang {
    /// A language tag (`en`, `no`, `nb-NO`, `nn_NO`…), if it is one of ours. Bokmål and
    /// Nynorsk readers both read `no`.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "no" | "nb" | "nn" => Some(Lang::No),
            _ => None,
        }
    }

    /// From a Discord interaction's `locale` (Discord sends `no` for Norwegian); English for
    /// everything else.
    pub fn from_locale(locale: &str) -> Lang {
        Lang::parse(locale).unwrap_or(Lang::En)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::No => "no",
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::parse(s).ok_or_else(|| format!("unknown language `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_locales_and_tags() {
        for l in ["no", "nb", "nn", "nb-NO", "NN_no"] {
            assert_eq!(Lang::from_locale(l), Lang::No, "{l}");
        }
        for l in ["en-US", "en-GB", "da", ""] {
            assert_eq!(Lang::from_locale(l), Lang::En, "{l}");
        }
        assert_eq!(Lang::parse("da"), None);
        assert_eq!("no".parse::<Lang>(), Ok(Lang::No));
        assert_eq!(Lang::No.code().parse::<Lang>(), Ok(Lang::No));
    }
}
