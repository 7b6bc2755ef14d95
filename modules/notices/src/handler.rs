//! The notices' handlers: publish (numbered in order, refused if it would already have
//! expired at the block's time) and withdraw (once).

use crate::state::{Notice, NoticesConfig, Withdrawal, config_key, notice_key};
use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::notices::{NoticesEvent, NoticesInstruction};
use civitas_kit::{Outcome, Overlay, StateView, TxContext, fail};

/// Applies a notices instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    op: &NoticesInstruction,
    state: &mut Overlay<'_, S>,
) -> Outcome<Vec<Event>> {
    match op {
        NoticesInstruction::Publish {
            category,
            title,
            text,
            effective,
            expires,
        } => {
            // Relative to the block, never to a clock: every validator decides the same.
            if let Some(expires) = expires
                && expires.0 <= ctx.env.timestamp.0
            {
                fail!(
                    "already_expired",
                    expires = expires,
                    now = ctx.env.timestamp
                );
            }
            let mut config: NoticesConfig =
                state.get_typed(&config_key()).await?.unwrap_or_default();
            let id = config.next_notice;
            config.next_notice += 1;
            let record = Notice {
                id,
                agency: signer.agency.clone(),
                category: category.clone(),
                title: title.clone(),
                text: *text,
                effective: *effective,
                expires: *expires,
                published_by: signer.id,
                height: ctx.env.height,
                time: ctx.env.timestamp,
                tx: ctx.tx_hash,
                withdrawal: None,
            };
            state.put_typed(&notice_key(id), &record);
            state.put_typed(&config_key(), &config);
            Ok(Ok(vec![Event::Notices(NoticesEvent::NoticePublished {
                notice: id,
                agency: record.agency,
                category: record.category,
                title: record.title,
                text: record.text,
            })]))
        }
        NoticesInstruction::Withdraw { notice, reason } => {
            let Some(mut record) = state.get_typed::<Notice>(&notice_key(*notice)).await? else {
                fail!("unknown_notice", notice = notice);
            };
            if let Some(withdrawal) = &record.withdrawal {
                fail!(
                    "already_withdrawn",
                    notice = notice,
                    height = withdrawal.height
                );
            }
            record.withdrawal = Some(Withdrawal {
                by: signer.id,
                reason: reason.clone(),
                height: ctx.env.height,
                time: ctx.env.timestamp,
            });
            state.put_typed(&notice_key(*notice), &record);
            Ok(Ok(vec![Event::Notices(NoticesEvent::NoticeWithdrawn {
                notice: *notice,
                by: signer.id,
                reason: reason.clone(),
            })]))
        }
    }
}
