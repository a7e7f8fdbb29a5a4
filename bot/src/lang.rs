//! English and Norwegian: the language of a reply follows the user's Discord client.

/// The language a reply is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    No,
}

impl Lang {
    /// From an interaction's `locale`: Discord sends `no` for Norwegian; `nb` and `nn` are
    /// accepted too, as other clients and the pay page use them.
    pub fn from_locale(locale: &str) -> Lang {
        match locale.split('-').next() {
            Some("no" | "nb" | "nn") => Lang::No,
            _ => Lang::En,
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, en: &'a str, no: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::No => no,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_locales() {
        for l in ["no", "nb", "nn", "nb-NO"] {
            assert_eq!(Lang::from_locale(l), Lang::No, "{l}");
        }
        for l in ["en-US", "en-GB", "da", ""] {
            assert_eq!(Lang::from_locale(l), Lang::En, "{l}");
        }
    }
}
