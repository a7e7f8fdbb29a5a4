//! Which Discord user acts as which platform host: assigned by an administrator, so that a
//! member can only pay for, start or inspect the meetings of the host they were linked to.

use async_trait::async_trait;

use super::StoreError;
use crate::email::Email;
use crate::lang::Lang;

#[async_trait]
pub trait DiscordLinkStore {
    /// Links `discord_user_id` to `host`, replacing an earlier link of that user.
    /// `linked_by` is the administrator's Discord user id, kept for the audit trail.
    async fn link_discord_user(
        &self,
        discord_user_id: u64,
        host: &Email,
        linked_by: u64,
    ) -> Result<(), StoreError>;

    async fn linked_host(&self, discord_user_id: u64) -> Result<Option<Email>, StoreError>;

    /// How many hosts at least one member acts as.
    async fn linked_hosts(&self) -> Result<u64, StoreError>;

    /// Remembers the language `discord_user_id`'s client uses, for the messages sent to them
    /// later; nothing happens for a user who is not linked.
    async fn remember_lang(&self, discord_user_id: u64, lang: Lang) -> Result<(), StoreError>;
}
