//! Audit events on their way to the `EVENTS` queue, sent in batches.
//!
//! A request used to send its event with one `Queue.send` of its own, and a
//! `client_credentials` token waited for it: on wrangler dev that send and
//! its share of the queue's work were about half of a token's CPU. Now a
//! request adds its event to this isolate's outbox and answers. The request
//! that finds the outbox empty sends, from its own `waitUntil`, everything
//! the isolate's requests added within [`GATHER`], in as few `sendBatch`
//! calls as Queues' limits allow. Only data crosses from one request to
//! another here, never a promise or a stream, which Workers ties to the
//! request that made it.
//!
//! If a batch cannot be sent, this isolate writes its events to D1 itself,
//! as the consumer would have: stored in the audit table (an event the
//! request left unstored) and queued for the tenants' log streams, which the
//! cron's delivery then sends. An event is lost only if D1 fails too, and
//! that is logged.

use std::cell::RefCell;
use std::time::Duration;

use tessera_core::logs::{self, delivery};
use worker::{Context, Delay, Env, Queue};

use crate::adapters::WorkersHost;

/// How long the first event waits for others to share its batch. At a few
/// hundred requests a second on one isolate a batch holds tens of events;
/// the consumer's own batching adds up to a second after this anyway.
pub const GATHER: Duration = Duration::from_millis(50);

/// Queues' limits on one `sendBatch`: 100 messages and 256 KB in all
/// (<https://developers.cloudflare.com/queues/platform/limits/>), kept
/// under with a margin for each message's envelope.
const BATCH_MESSAGES: usize = 100;
const BATCH_BYTES: usize = 200 * 1024;

pub enum Message {
    /// An event the audit table already holds: for the log streams only.
    Stored(String),
    /// An event for the consumer to store first (see
    /// `Events::publish_unstored`).
    Unstored(String),
}

impl Message {
    fn event(&self) -> &str {
        match self {
            Message::Stored(e) | Message::Unstored(e) => e,
        }
    }
}

/// The message as the consumer (`queue` in lib.rs) reads it: a stored event
/// is its JSON string, an unstored one `{"store": event}`.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Stored(&'a str),
    Unstored { store: &'a str },
}

thread_local! {
    static PENDING: RefCell<Vec<Message>> = const { RefCell::new(Vec::new()) };
}

/// Adds `message` to the outbox; the first message of a batch also starts
/// its send, in `ctx`'s `waitUntil`.
pub fn post(env: &Env, ctx: &Context, queue: Queue, message: Message) {
    let first = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.push(message);
        p.len() == 1
    });
    if first {
        let env = env.clone();
        ctx.wait_until(async move {
            Delay::from(GATHER).await;
            flush(&env, &queue).await;
        });
    }
}

/// Sends one message at once (outside a request: cron, the consumer).
pub async fn send_now(queue: &Queue, message: Message) -> worker::Result<()> {
    queue.send(body(&message)).await
}

fn body(m: &Message) -> Body<'_> {
    match m {
        Message::Stored(e) => Body::Stored(e),
        Message::Unstored(e) => Body::Unstored { store: e },
    }
}

/// Sends every message waiting now, one `sendBatch` per chunk of them.
async fn flush(env: &Env, queue: &Queue) {
    let mut pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    while !pending.is_empty() {
        let rest = pending.split_off(chunk_len(&pending));
        let bodies: Vec<Body<'_>> = pending.iter().map(body).collect();
        if let Err(e) = queue.send_batch(bodies).await {
            worker::console_error!("tessera: sending {} audit events to the queue failed: {e}", pending.len());
            write_to_d1(env, &pending).await;
        }
        pending = rest;
    }
}

/// How many of `messages`, from the first, fit in one batch (at least one:
/// a single event is far below the size limit).
fn chunk_len(messages: &[Message]) -> usize {
    let mut bytes = 0;
    let mut n = 0;
    for m in messages.iter().take(BATCH_MESSAGES) {
        bytes += m.event().len() + 16;
        if n > 0 && bytes > BATCH_BYTES {
            break;
        }
        n += 1;
    }
    n
}

/// What the consumer would have done with `messages`, done here.
async fn write_to_d1(env: &Env, messages: &[Message]) {
    let Ok(host) = WorkersHost::new(env, None) else { return };
    let unstored: Vec<String> =
        messages.iter().filter_map(|m| if let Message::Unstored(e) = m { Some(e.clone()) } else { None }).collect();
    let all: Vec<String> = messages.iter().map(|m| m.event().to_owned()).collect();
    let written = match logs::store_unstored(&host, &unstored).await {
        Ok(()) => delivery::ingest(&host, &all).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        worker::console_error!(
            "tessera: {} audit events were lost: neither the queue nor D1 took them: {e:?}",
            all.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_stops_at_the_message_limit_or_the_size_limit() {
        let small: Vec<Message> = (0..250).map(|_| Message::Stored("{}".into())).collect();
        assert_eq!(chunk_len(&small), 100);
        assert_eq!(chunk_len(&small[200..]), 50);
        let big: Vec<Message> = (0..5).map(|_| Message::Unstored("x".repeat(90 * 1024))).collect();
        assert_eq!(chunk_len(&big), 2);
        let huge = [Message::Unstored("x".repeat(300 * 1024))];
        assert_eq!(chunk_len(&huge), 1);
    }
}
