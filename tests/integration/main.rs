//! One integration-test binary (faster to link): whole-pipeline tests on fixture host trees, the
//! CLI's exit codes and messages, the shipped data, hostile input, the live host, the corpus.

mod advise;
mod cli;
mod corpus;
mod cpuinfo;
mod data;
mod detection;
mod facts;
mod fix;
mod fixtures;
mod fleet;
mod hardening;
mod host;
mod hostile;
mod house;
mod live;
mod output;
mod parsers;
mod round3;
mod schema;
mod serve;
mod systemd;
mod util;
mod watch;
