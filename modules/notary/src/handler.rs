//! Notary handlers.

use crate::state::{Document, Revocation, document_key, load_document};
use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::instruction::NotaryInstruction;
use civitas_kit::StateView;
use civitas_kit::{BlockError, Failure, Overlay, TxContext, failure};

/// Applies a notary instruction (already authorized).
pub async fn apply<S: StateView>(
    ctx: &TxContext<'_>,
    signer: &Account,
    op: &NotaryInstruction,
    state: &mut Overlay<'_, S>,
) -> Result<Result<Vec<Event>, Failure>, BlockError> {
    match op {
        NotaryInstruction::Anchor {
            document,
            title,
            metadata,
        } => {
            if let Some(existing) = load_document(state, document).await? {
                return Ok(Err(failure!(
                    "already_anchored",
                    document = document,
                    agency = existing.agency,
                    height = existing.height
                )));
            }
            let record = Document {
                hash: *document,
                issuer: signer.id,
                agency: signer.agency.clone(),
                title: title.clone(),
                metadata: metadata.clone(),
                height: ctx.env.height,
                time: ctx.env.timestamp,
                tx: ctx.tx_hash,
                revocation: None,
            };
            state.put_typed(&document_key(document), &record);
            Ok(Ok(vec![Event::Notary(
                civitas_core::event::NotaryEvent::DocumentAnchored {
                    document: *document,
                    issuer: signer.id,
                    agency: record.agency,
                    title: record.title,
                },
            )]))
        }
        NotaryInstruction::Revoke { document, reason } => {
            let Some(mut record) = load_document(state, document).await? else {
                return Ok(Err(failure!("unknown_document", document = document)));
            };
            if let Some(revocation) = &record.revocation {
                return Ok(Err(failure!(
                    "already_revoked",
                    document = document,
                    height = revocation.height
                )));
            }
            record.revocation = Some(Revocation {
                by: signer.id,
                reason: reason.clone(),
                height: ctx.env.height,
                time: ctx.env.timestamp,
                tx: ctx.tx_hash,
            });
            state.put_typed(&document_key(document), &record);
            Ok(Ok(vec![Event::Notary(
                civitas_core::event::NotaryEvent::DocumentRevoked {
                    document: *document,
                    by: signer.id,
                    reason: reason.clone(),
                },
            )]))
        }
    }
}
