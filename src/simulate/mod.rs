//! simulate: believable MCP authorization traffic with labelled attacks, for demos, tests
//! and benchmarks. Nothing public provides such logs, so trustpath makes its own.
//!
//! - [`world`]: the organisation (resources, authorization servers, clients, users).
//! - [`flows`]: benign flows in trust-path order, with clock skew and arrival disorder.
//! - [`attacks`]: one injector per rule TP001–TP017, each with its ground-truth label.
//! - [`output`]: where the events go (NDJSON file or stdout, HTTP, NATS), paced or not.
//!
//! The flow model produces typed [`WireEvent`](crate::event::WireEvent)s; encoding is a
//! separate step ([`encode_native`], or [`Simulation::encode`] for the vendor formats of
//! [`adapt`](crate::adapt)), so every format is emitted from the same flows.
//! One seed gives the same bytes: every draw comes from one ChaCha8 stream, and nothing
//! depends on the clock or on hash-map order.

pub mod attacks;
pub mod flows;
pub mod output;
pub mod world;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::adapt::{self, Format};

pub use attacks::{Attack, Label};
pub use flows::SimEvent;
use flows::{History, Recorder};
use world::{Size, World};

const HOUR_MS: i64 = 3_600_000;
/// The detections' learning period: attacks are injected after it.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Benign flows (approval chains).
    pub flows: usize,
    pub size: Size,
    /// Start of the simulated period.
    pub start: DateTime<Utc>,
    /// Length of the simulated period, in days.
    pub days: f64,
    /// How many of each attack to inject.
    pub attacks: Vec<(Attack, usize)>,
}

/// Generated traffic, in arrival order, and the labels of what was injected.
pub struct Simulation {
    pub events: Vec<SimEvent>,
    pub labels: Vec<Label>,
}

/// The labels file written beside the events.
#[derive(Serialize)]
pub struct LabelFile<'a> {
    pub seed: u64,
    pub events: usize,
    pub labels: &'a [Label],
}

pub fn generate(options: &Options) -> Simulation {
    generate_part(options, 0)
}

/// Part `part` of a long simulation made in pieces that each fit in memory: the same
/// organisation (the world comes from the seed alone), its own flows (a ChaCha8 stream of
/// its own) and event ids (`sim-<seed>p<part>-…`). Part 0 is [`generate`]. Give each part
/// its own `start` so the parts follow one another.
pub fn generate_part(options: &Options, part: u64) -> Simulation {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let world = World::generate(&mut rng, options.size);
    let id_prefix = if part == 0 {
        format!("sim-{:x}", options.seed)
    } else {
        rng.set_stream(part);
        format!("sim-{:x}p{part}", options.seed)
    };
    let mut rec = Recorder::new(rng, id_prefix);
    let mut history = History::default();
    let span_ms = (options.days.max(0.001) * 86_400_000.0) as i64;

    let mut starts: Vec<i64> = (0..options.flows)
        .map(|_| rec.rng.random_range(0..span_ms))
        .collect();
    starts.sort_unstable();
    for offset in starts {
        flows::benign(
            &mut rec,
            &world,
            &mut history,
            options.start + Duration::milliseconds(offset),
        );
    }

    // Attacks come after the learning period (the first day), when detections are armed.
    // A period of a day or less gets them in the hour after it.
    let armed_from = DAY_MS;
    let until = span_ms.max(DAY_MS + HOUR_MS);
    let mut labels = Vec::new();
    for &(attack, count) in &options.attacks {
        for _ in 0..count {
            let offset = rec.rng.random_range(armed_from..until);
            let at = options.start + Duration::milliseconds(offset);
            labels.push(attacks::inject(&mut rec, &world, &mut history, attack, at));
        }
    }

    let mut events = rec.events;
    // Arrival order: what a collector would see. Ties break on the id for determinism.
    events.sort_by(|a, b| {
        a.arrival
            .cmp(&b.arrival)
            .then_with(|| a.event.id.cmp(&b.event.id))
    });
    Simulation { events, labels }
}

impl Simulation {
    /// Moves the whole simulation in time so that its newest event happens at `newest`:
    /// a demo then shows traffic that just happened, never traffic from the future.
    pub fn end_at(&mut self, newest: DateTime<Utc>) {
        let Some(latest) = self.events.iter().map(|e| e.event.time).max() else {
            return;
        };
        let shift = newest - latest;
        for sim in &mut self.events {
            sim.event.time += shift;
            sim.arrival += shift;
            if let Some(expires) = &mut sim.event.token.expires_at {
                *expires += shift;
            }
        }
    }
}

/// One encoded event: the format it is in, and its JSON without the newline.
pub type Encoded = (Format, Vec<u8>);

impl Simulation {
    /// Every event in `format` (authorization-server events in the AS format, gateway
    /// events in the gateway format, the rest native: see [`adapt::emit`]). Labels name the
    /// events by the ids the adapters will give them (`okta:<id>`), so scoring still works.
    pub fn encode(&mut self, format: Format) -> Vec<Encoded> {
        let mut ids = std::collections::HashMap::new();
        let encoded = self
            .events
            .iter()
            .map(|sim| {
                let (format, record) = adapt::emit(format, &sim.event);
                if format != Format::Native {
                    ids.insert(sim.event.id.clone(), format!("{format}:{}", sim.event.id));
                }
                // A JSON value always serializes.
                (
                    format,
                    serde_json::to_vec(&record).expect("JSON serializes"),
                )
            })
            .collect();
        for label in &mut self.labels {
            for id in &mut label.evidence {
                if let Some(read_as) = ids.get(id) {
                    id.clone_from(read_as);
                }
            }
        }
        encoded
    }
}

/// `trustpath.event.v1` JSON, one line without the newline.
pub fn encode_native(event: &SimEvent) -> Vec<u8> {
    // WireEvent holds only strings, numbers, timestamps and JSON maps: it always serializes.
    serde_json::to_vec(&event.event).expect("events serialize")
}
