//! The identity module's records: agencies and accounts, as the state stores them.

use crate::AccountKind;
use civitas_primitives::codec::{
    read_list, read_str, read_str_list, str_list_size, str_size, write_str, write_str_list,
};
use civitas_primitives::crypto::{AccountId, PublicKey};
use civitas_primitives::limits::*;
use civitas_primitives::time::TimestampMs;
use commonware_codec::{Buf, EncodeSize, Read, ReadExt, Write};
use serde::Serialize;

/// An agency: founded in genesis or added by governance. The record stays once it retires.
/// (Which validators an agency runs is in the validator sets, not here.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Agency {
    /// Short identifier.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Height of the block it joined in (0 for a founding agency).
    pub joined_height: u64,
    /// Height of the block it retired in, if it has.
    pub retired_height: Option<u64>,
}

impl Agency {
    /// Whether it still takes part: its officials sign and its vote counts.
    pub fn in_force(&self) -> bool {
        self.retired_height.is_none()
    }
}

/// An account: an official of an agency, or a citizen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The account id (its first key).
    pub id: AccountId,
    /// Official or citizen.
    pub kind: AccountKind,
    /// The official's agency; empty for citizens.
    pub agency: String,
    /// The official's name; empty for citizens (no personal data on the ledger).
    pub name: String,
    /// The official's roles.
    pub roles: Vec<String>,
    /// The keys that currently sign for the account.
    pub keys: Vec<PublicKey>,
    /// How many of `keys` must sign each transaction (k of n).
    pub threshold: u8,
    /// False once deactivated.
    pub active: bool,
    /// Height at which it was registered (0 for genesis admins).
    pub registered_height: u64,
    /// Who registered it (itself for genesis admins).
    pub registered_by: AccountId,
}

impl Account {
    /// How many of the account's keys signed, out of `signing_keys`.
    pub fn keys_signed<'a>(&self, signing_keys: impl IntoIterator<Item = &'a PublicKey>) -> usize {
        signing_keys
            .into_iter()
            .filter(|key| self.keys.contains(key))
            .count()
    }
}

impl Write for Agency {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        write_str(&self.id, buf);
        write_str(&self.name, buf);
        self.joined_height.write(buf);
        self.retired_height.write(buf);
    }
}

impl EncodeSize for Agency {
    fn encode_size(&self) -> usize {
        str_size(&self.id) + str_size(&self.name) + 8 + self.retired_height.encode_size()
    }
}

impl Read for Agency {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            id: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            name: read_str(buf, NAME_MAX_BYTES)?,
            joined_height: u64::read(buf)?,
            retired_height: Option::<u64>::read(buf)?,
        })
    }
}

impl Write for Account {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.id.write(buf);
        self.kind.write(buf);
        write_str(&self.agency, buf);
        write_str(&self.name, buf);
        write_str_list(&self.roles, buf);
        self.keys.write(buf);
        self.threshold.write(buf);
        self.active.write(buf);
        self.registered_height.write(buf);
        self.registered_by.write(buf);
    }
}

impl EncodeSize for Account {
    fn encode_size(&self) -> usize {
        32 + 1
            + str_size(&self.agency)
            + str_size(&self.name)
            + str_list_size(&self.roles)
            + self.keys.encode_size()
            + 1
            + 1
            + 8
            + 32
    }
}

impl Read for Account {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            id: AccountId::read(buf)?,
            kind: AccountKind::read(buf)?,
            agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            name: read_str(buf, NAME_MAX_BYTES)?,
            roles: read_str_list(buf, ROLES_MAX, ROLE_MAX_BYTES)?,
            keys: read_list(buf, ACCOUNT_KEYS_MAX, &())?,
            threshold: u8::read(buf)?,
            active: bool::read(buf)?,
            registered_height: u64::read(buf)?,
            registered_by: AccountId::read(buf)?,
        })
    }
}

/// A key recovery under way: what `identity.recover_key` starts and `complete_recovery` or
/// `cancel_recovery` ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Recovery {
    /// The key the account will have.
    pub new_key: PublicKey,
    /// The official who started it.
    pub by: AccountId,
    /// The height of the block that started it.
    pub started_height: u64,
    /// The block time from which it may be completed.
    pub effective: TimestampMs,
    /// The delay it was started with, in hours.
    pub delay_hours: u32,
}

impl Write for Recovery {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.new_key.write(buf);
        self.by.write(buf);
        self.started_height.write(buf);
        self.effective.0.write(buf);
        self.delay_hours.write(buf);
    }
}

impl EncodeSize for Recovery {
    fn encode_size(&self) -> usize {
        32 + 32 + 8 + 8 + 4
    }
}

impl Read for Recovery {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            new_key: PublicKey::read(buf)?,
            by: AccountId::read(buf)?,
            started_height: u64::read(buf)?,
            effective: TimestampMs(u64::read(buf)?),
            delay_hours: u32::read(buf)?,
        })
    }
}
