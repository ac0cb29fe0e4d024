//! Audit events on their way to the `EVENTS` queue, many to a message.
//!
//! A request used to send its event with one `Queue.send` of its own, and a
//! `client_credentials` token waited for it: on wrangler dev that send and
//! the queue's work per message were about half of a token's CPU. Now a
//! request adds its event to this isolate's outbox and answers. The request
//! that finds the outbox empty sends, from its own `waitUntil`, everything
//! the isolate's requests added within [`GATHER`], as one message (`{"events":
//! "[...]"}`) per [`MESSAGE_BYTES`] of them. Only data crosses from one
//! request to another here, never a promise or a stream, which Workers ties
//! to the request that made it.
//!
//! If a message cannot be sent, this isolate writes its events to D1 itself,
//! as the consumer would have: stored in the audit table (an event the
//! request left unstored) and queued for the tenants' log streams, which the
//! cron's delivery then sends. An event is lost only if D1 fails too, and
//! that is logged.
//!
//! [`read`] is the consumer's side: what each message carries.

use std::cell::RefCell;
use std::time::Duration;

use tessera_core::logs::{self, delivery};
use worker::{Context, Delay, Env, Queue};

use crate::adapters::WorkersHost;

/// How long the first event waits for others to share its batch. A send
/// costs mostly per message, not per byte: under the token benchmark's load
/// (about 500 requests a second on one isolate) `Queue.send` took 2.9-4.2 %
/// of the isolate's profile with 50 ms and 0.7-1.1 % with 250 ms
/// (bench/profile-token.mjs), where a batch reaches [`MESSAGE_BYTES`]. An
/// isolate serving tens of requests a second, as in production, gathers a
/// few per message instead of sending one each. The events reach the
/// consumer that much later, which batches for up to a second anyway.
pub const GATHER: Duration = Duration::from_millis(250);

/// Queues takes messages of up to 128 KB
/// (<https://developers.cloudflare.com/queues/platform/limits/>); a message
/// of events stays under this, with room for its envelope.
const MESSAGE_BYTES: usize = 100 * 1024;

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

    /// Its item in a message's array: the event, or `{"store": event}`.
    fn push_item(&self, out: &mut String) {
        match self {
            Message::Stored(e) => out.push_str(e),
            Message::Unstored(e) => {
                out.push_str("{\"store\":");
                out.push_str(e);
                out.push('}');
            }
        }
    }
}

/// A queue message: `{"events": "[item, ...]"}`, the array as one string
/// (one value for the runtime to copy, where an array of objects would be
/// converted field by field on both sides).
#[derive(serde::Serialize)]
struct Events<'a> {
    events: &'a str,
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

/// Sends messages at once (outside a request: cron, the consumer).
pub async fn send_now(queue: &Queue, messages: &[Message]) -> worker::Result<()> {
    for (text, _) in encode(messages) {
        queue.send(Events { events: &text }).await?;
    }
    Ok(())
}

/// Sends every message waiting now.
async fn flush(env: &Env, queue: &Queue) {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for (text, part) in encode(&pending) {
        if let Err(e) = queue.send(Events { events: &text }).await {
            worker::console_error!("tessera: sending {} audit events to the queue failed: {e}", part.len());
            write_to_d1(env, part).await;
        }
    }
}

/// `messages` as the `events` arrays of as few queue messages as the size
/// limit allows, each with the messages it carries.
fn encode(messages: &[Message]) -> Vec<(String, &[Message])> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut text = String::from("[");
    for (i, m) in messages.iter().enumerate() {
        if i > from && text.len() + m.event().len() + 12 > MESSAGE_BYTES {
            text.push(']');
            out.push((std::mem::replace(&mut text, String::from("[")), &messages[from..i]));
            from = i;
        }
        if i > from {
            text.push(',');
        }
        m.push_item(&mut text);
    }
    if from < messages.len() {
        text.push(']');
        out.push((text, &messages[from..]));
    }
    out
}

/// The events a queue message carries, into `events` (every event, for the
/// streams) and `unstored` (those to store first). A message is one of:
/// `{"events": "[...]"}` (the outbox's); an event's JSON string, or
/// `{"store": "<event>"}` (one event a message, as sent before the outbox,
/// still read for messages queued across a deploy); `{"wake": true}` (the
/// consumer's own timer, which carries none). `false` for anything else,
/// which the consumer cannot read and says so (it is acknowledged: a retry
/// would not read it either).
pub fn read(body: &serde_json::Value, events: &mut Vec<String>, unstored: &mut Vec<String>) -> bool {
    #[derive(serde::Deserialize)]
    struct Store<'a> {
        #[serde(borrow)]
        store: &'a serde_json::value::RawValue,
    }
    match body {
        serde_json::Value::String(e) => events.push(e.clone()),
        serde_json::Value::Object(o) => {
            if let Some(list) = o.get("events").and_then(|e| e.as_str()) {
                let Ok(items) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(list) else { return false };
                for item in items {
                    match serde_json::from_str::<Store<'_>>(item.get()) {
                        Ok(s) => {
                            unstored.push(s.store.get().to_owned());
                            events.push(s.store.get().to_owned());
                        }
                        Err(_) => events.push(item.get().to_owned()),
                    }
                }
            } else if let Some(e) = o.get("store").and_then(|e| e.as_str()) {
                unstored.push(e.to_owned());
                events.push(e.to_owned());
            } else {
                return o.contains_key("wake");
            }
        }
        _ => return false,
    }
    true
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

    fn event(id: &str, pad: usize) -> String {
        format!(
            r#"{{"log_id":"{id}","type":"seccft","details":{{"store":"not the envelope"}},"pad":"{}"}}"#,
            "x".repeat(pad)
        )
    }

    fn read_all(texts: &[(String, &[Message])]) -> (Vec<String>, Vec<String>) {
        let (mut events, mut unstored) = (Vec::new(), Vec::new());
        for (text, _) in texts {
            let body = serde_json::to_value(Events { events: text }).unwrap();
            assert!(read(&body, &mut events, &mut unstored));
        }
        (events, unstored)
    }

    #[test]
    fn the_consumer_reads_each_event_as_it_was_posted_and_which_to_store() {
        let messages = vec![
            Message::Unstored(event("evt_a", 0)),
            Message::Stored(event("evt_b", 0)),
            Message::Unstored(event("evt_c", 0)),
        ];
        let texts = encode(&messages);
        assert_eq!(texts.len(), 1, "a few events go in one message");
        let (events, unstored) = read_all(&texts);
        assert_eq!(events, vec![event("evt_a", 0), event("evt_b", 0), event("evt_c", 0)], "the same bytes, in order");
        assert_eq!(unstored, vec![event("evt_a", 0), event("evt_c", 0)]);
    }

    #[test]
    fn events_past_the_size_limit_go_in_further_messages_each_one_whole() {
        let messages: Vec<Message> = (0..5).map(|i| Message::Unstored(event(&format!("evt_{i}"), 40 * 1024))).collect();
        let texts = encode(&messages);
        assert_eq!(texts.iter().map(|(_, part)| part.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert!(texts.iter().all(|(text, _)| text.len() <= MESSAGE_BYTES));
        let (events, unstored) = read_all(&texts);
        assert_eq!(events.len(), 5);
        assert_eq!(unstored, messages.iter().map(|m| m.event().to_owned()).collect::<Vec<_>>());
        // One event larger than the limit still goes, alone.
        let huge = [Message::Stored(event("evt_huge", 200 * 1024))];
        assert_eq!(encode(&huge).len(), 1);
        assert!(encode(&[]).is_empty());
    }

    #[test]
    fn messages_of_one_event_as_sent_before_the_outbox_are_still_read() {
        let (mut events, mut unstored) = (Vec::new(), Vec::new());
        assert!(read(&serde_json::json!(event("evt_a", 0)), &mut events, &mut unstored));
        assert!(read(&serde_json::json!({ "store": event("evt_b", 0) }), &mut events, &mut unstored));
        assert!(read(&serde_json::json!({ "wake": true }), &mut events, &mut unstored));
        assert_eq!(events, vec![event("evt_a", 0), event("evt_b", 0)]);
        assert_eq!(unstored, vec![event("evt_b", 0)]);
    }

    #[test]
    fn a_message_the_consumer_cannot_read_is_reported_and_adds_nothing() {
        let (mut events, mut unstored) = (Vec::new(), Vec::new());
        for body in [
            serde_json::json!({ "events": "[not json" }),
            serde_json::json!({ "something": "else" }),
            serde_json::json!(42),
            serde_json::json!([event("evt_a", 0)]),
        ] {
            assert!(!read(&body, &mut events, &mut unstored), "{body}");
        }
        assert!(events.is_empty() && unstored.is_empty());
    }
}
