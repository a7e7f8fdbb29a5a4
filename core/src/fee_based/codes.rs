//! Promotion codes: a host's for one session, an administrator's for the whole site. A code
//! takes a percentage or a fixed amount off a registration fee, perhaps a limited number of
//! times and until it expires. The rules here say what a code is, whether it may be used for
//! a session now, and what it takes off, exactly; the store holds the count of its uses.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rand::RngCore;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::lang::Lang;
use crate::messages::Args;
use crate::money::{self, Money};
use crate::platform::PlatformKind;

/// A code as attendees type it, in its one normal form: upper case, so that `spring25`,
/// `Spring25` and `SPRING25` are one code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PromotionCode(String);

/// The shortest and longest code.
pub const CODE_CHARS: (usize, usize) = (3, 32);

impl PromotionCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PromotionCode {
    type Err = BadCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_uppercase();
        let (min, max) = CODE_CHARS;
        let ok = (min..=max).contains(&code.chars().count())
            && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok { Ok(PromotionCode(code)) } else { Err(BadCode(s.trim().to_owned())) }
    }
}

impl fmt::Display for PromotionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text that cannot be a code (letters, digits, `-` and `_`, 3 to 32 of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadCode(pub String);

impl fmt::Display for BadCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a promotion code", self.0)
    }
}

impl BadCode {
    pub fn said(&self, lang: Lang) -> String {
        lang.text_with("code-malformed", &Args::new().str("code", &self.0))
    }
}

/// A stored code's identifier: `pc_` and 24 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CodeId(String);

impl CodeId {
    pub fn random() -> CodeId {
        let mut bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut bytes);
        CodeId(format!("pc_{}", hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CodeId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.strip_prefix("pc_").is_some_and(|hex| {
            hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok { Ok(CodeId(s.to_owned())) } else { Err(format!("`{s}` is not a code id")) }
    }
}

impl fmt::Display for CodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a code takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Off {
    /// A percentage of the fee, 0 < p ≤ 100.
    Percent(Decimal),
    /// A fixed amount, at most the fee.
    Fixed(Money),
}

impl Off {
    /// `10 %` or `5.00 USD`.
    pub fn shown(&self) -> String {
        match self {
            Off::Percent(p) => format!("{} %", p.normalize()),
            Off::Fixed(m) => format!("{m} {}", m.currency()),
        }
    }
}

/// Reads a percentage: a decimal above 0 and at most 100, with at most two decimals.
pub fn percent(text: &str, lang: Lang) -> Result<Decimal, String> {
    let bad = || lang.text_with("code-bad-percent", &Args::new().str("text", text.trim()));
    let p = Decimal::from_str_exact(text.trim().trim_end_matches('%').trim()).map_err(|_| bad())?;
    if p <= Decimal::ZERO || p > Decimal::ONE_HUNDRED || p.scale() > 2 {
        return Err(bad());
    }
    Ok(p)
}

/// The session a code is for; `None` on a site-wide code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForSession {
    pub platform: PlatformKind,
    pub meeting_id: String,
}

impl ForSession {
    pub fn key(&self) -> String {
        format!("{}/{}", self.platform, self.meeting_id)
    }
}

/// A stored code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Code {
    pub id: CodeId,
    pub code: PromotionCode,
    pub session: Option<ForSession>,
    pub off: Off,
    pub max_uses: Option<u32>,
    /// The orders it is applied to and not given back.
    pub uses: u32,
    pub expires_at: Option<DateTime<Utc>>,
    /// The Discord member who made it.
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
}

/// Why a code does not apply, as the attendee is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Unknown(PromotionCode),
    Expired(PromotionCode),
    UsedUp(PromotionCode),
    /// A code of another session.
    OtherSession(PromotionCode),
    /// A fixed amount in a currency the fee is not in (the site changed its currency).
    OtherCurrency(PromotionCode),
}

impl Refused {
    pub fn said(&self, lang: Lang) -> String {
        let args = |code: &PromotionCode| Args::new().str("code", code);
        match self {
            Refused::Unknown(c) => lang.text_with("code-unknown", &args(c)),
            Refused::Expired(c) => lang.text_with("code-expired", &args(c)),
            Refused::UsedUp(c) => lang.text_with("code-used-up", &args(c)),
            Refused::OtherSession(c) => lang.text_with("code-other-session", &args(c)),
            Refused::OtherCurrency(c) => lang.text_with("code-other-currency", &args(c)),
        }
    }
}

impl Code {
    /// Whether the code may be applied to a registration for `session` at `now`, uses aside
    /// (the store holds their count, and takes one only while one is left).
    pub fn applies(&self, session: &ForSession, now: DateTime<Utc>) -> Result<(), Refused> {
        if self.session.as_ref().is_some_and(|s| s != session) {
            return Err(Refused::OtherSession(self.code.clone()));
        }
        if self.expires_at.is_some_and(|at| now >= at) {
            return Err(Refused::Expired(self.code.clone()));
        }
        if self.max_uses.is_some_and(|max| self.uses >= max) {
            return Err(Refused::UsedUp(self.code.clone()));
        }
        Ok(())
    }

    /// What the code takes off `fee`: a percentage rounded half-up to the minor unit, a fixed
    /// amount at most the fee, so that what is left is never below zero.
    pub fn discount(&self, fee: Money) -> Result<Money, Refused> {
        let off = match self.off {
            Off::Percent(p) => {
                Money::round(fee.amount() * p / Decimal::ONE_HUNDRED, fee.currency())
            }
            Off::Fixed(m) if m.currency() != fee.currency() => {
                return Err(Refused::OtherCurrency(self.code.clone()));
            }
            Off::Fixed(m) => m,
        };
        Ok(if off.amount() > fee.amount() { fee } else { off })
    }
}

/// The fee, what a code took off it, and what is left to pay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    pub fee: Money,
    pub discount: Money,
    pub total: Money,
}

/// `fee` less `discount` (at most the fee).
pub fn priced(fee: Money, discount: Money) -> Result<Priced, money::MoneyError> {
    let total = Money::round(fee.amount() - discount.amount(), fee.currency());
    if total.amount().is_sign_negative() && !total.amount().is_zero() {
        return Err(money::MoneyError::Negative(total.to_string()));
    }
    Ok(Priced { fee, discount, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    fn session(id: &str) -> ForSession {
        ForSession { platform: PlatformKind::Zoom, meeting_id: id.into() }
    }

    fn code(off: Off) -> Code {
        Code {
            id: CodeId::random(),
            code: "SPRING".parse().unwrap(),
            session: Some(session("1")),
            off,
            max_uses: Some(2),
            uses: 0,
            expires_at: Some("2030-01-01T00:00:00Z".parse().unwrap()),
            created_by: 1,
            created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_code_has_one_normal_form_whatever_its_case() {
        let a: PromotionCode = " spring-25 ".parse().unwrap();
        assert_eq!(a, "SPRING-25".parse().unwrap());
        assert_eq!(a.as_str(), "SPRING-25");
        for bad in ["ab", "spring 25", "spring%", &"x".repeat(33), "vår25"] {
            assert!(bad.parse::<PromotionCode>().is_err(), "{bad}");
        }
        assert!("pc_0123456789abcdef01234567".parse::<CodeId>().is_ok());
        assert!("pc_x".parse::<CodeId>().is_err());
    }

    #[test]
    fn a_percentage_is_above_zero_and_at_most_a_hundred() {
        assert_eq!(percent("12.5", Lang::En), Ok("12.5".parse().unwrap()));
        assert_eq!(percent("100 %", Lang::En), Ok(Decimal::ONE_HUNDRED));
        for bad in ["0", "-5", "100.01", "abc", "12.345"] {
            let why = percent(bad, Lang::En).unwrap_err();
            assert!(why.contains("above 0 and at most 100"), "{bad}: {why}");
        }
    }

    #[test]
    fn the_discount_is_rounded_half_up_and_never_more_than_the_fee() {
        let third = code(Off::Percent("33.33".parse().unwrap()));
        // 25.00 × 33.33 % = 8.3325 → 8.33; 0.15 × 10 % = 0.015 → 0.02 (half-up).
        assert_eq!(third.discount(usd("25.00")), Ok(usd("8.33")));
        let tenth = code(Off::Percent(Decimal::TEN));
        assert_eq!(tenth.discount(usd("0.15")), Ok(usd("0.02")));
        let all = code(Off::Percent(Decimal::ONE_HUNDRED));
        assert_eq!(all.discount(usd("25.00")), Ok(usd("25.00")));
        let fixed = code(Off::Fixed(usd("30.00")));
        assert_eq!(fixed.discount(usd("25.00")), Ok(usd("25.00")), "never below zero");
        let priced = priced(usd("25.00"), usd("8.33")).unwrap();
        assert_eq!(priced.total, usd("16.67"));
        let nok = Money::parse_exact("25.00", "NOK".parse().unwrap()).unwrap();
        assert!(matches!(fixed.discount(nok), Err(Refused::OtherCurrency(_))));
    }

    #[test]
    fn a_code_is_refused_by_name_with_why() {
        let c = code(Off::Percent(Decimal::TEN));
        let now: DateTime<Utc> = "2029-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(c.applies(&session("1"), now), Ok(()));
        assert_eq!(c.applies(&session("2"), now), Err(Refused::OtherSession(c.code.clone())));
        let late = c.expires_at.unwrap();
        assert_eq!(c.applies(&session("1"), late), Err(Refused::Expired(c.code.clone())));
        let used = Code { uses: 2, ..c.clone() };
        assert_eq!(used.applies(&session("1"), now), Err(Refused::UsedUp(c.code.clone())));
        let site_wide = Code { session: None, ..c.clone() };
        assert_eq!(site_wide.applies(&session("2"), now), Ok(()));
        let said = Refused::UsedUp(c.code.clone()).said(Lang::En);
        assert!(said.contains("SPRING") && said.contains("used up"), "{said}");
        let no = Refused::Expired(c.code).said(Lang::from_locale("no"));
        assert!(no.contains("SPRING") && no.contains("utløpt"), "{no}");
    }
}
