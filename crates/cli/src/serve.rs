//! `veil serve`: the PWA and the ingest API on loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `veil serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// The built PWA to serve.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return crate::fail(e),
    };
    let config = veil_ingest::ServerConfig {
        addr: SocketAddr::new(args.bind, args.port),
        dist: args.dist,
    };
    match runtime.block_on(veil_ingest::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::fail(e),
    }
}
