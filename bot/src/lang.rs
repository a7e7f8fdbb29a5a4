//! The language of a reply follows the member's Discord client: the domain's two languages.

pub use tollbooth_core::lang::Lang;
