//! The benchmark's TCP load balancer: each new connection goes to the next node in turn, and
//! its bytes are copied both ways until either side closes, as `tests/e2e/cluster.rs`'s
//! balancer does for the multi-node tests. `bench/cluster` puts it in front of the nodes.
//!
//!     balancer LISTEN NODE...        e.g. balancer 127.0.0.1:8080 127.0.0.1:8081 127.0.0.1:8082
//!
//! It runs on one thread (the load generator's core) and keeps no state but the turn. On
//! SIGTERM or SIGINT it prints one JSON line, the connections each node received, and exits.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

use tokio::net::{TcpListener, TcpStream};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("balancer: {why}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: balancer LISTEN NODE...";
    let listen: SocketAddr = args
        .next()
        .ok_or(usage)?
        .parse()
        .map_err(|e| format!("LISTEN: {e}"))?;
    let nodes = args
        .map(|node| node.parse().map_err(|e| format!("NODE {node}: {e}")))
        .collect::<Result<Vec<SocketAddr>, String>>()?;
    if nodes.is_empty() {
        return Err(usage.into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(listen, nodes))
}

async fn serve(listen: SocketAddr, nodes: Vec<SocketAddr>) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("bind {listen}: {e}"))?;
    let served: Rc<Vec<Cell<usize>>> = Rc::new(nodes.iter().map(|_| Cell::new(0)).collect());
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut next = 0;
    loop {
        let client = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        let Ok((client, _)) = client else {
            continue;
        };
        let node = next % nodes.len();
        next += 1;
        let (address, served) = (nodes[node], served.clone());
        tokio::task::spawn_local(async move {
            if let Ok(server) = TcpStream::connect(address).await {
                served[node].set(served[node].get() + 1);
                copy(client, server).await;
            }
        });
    }
    let counts: Vec<usize> = served.iter().map(Cell::get).collect();
    println!("{{\"connections\":{counts:?}}}");
    Ok(())
}

async fn copy(mut client: TcpStream, mut server: TcpStream) {
    // Requests and answers are small and each waits for the other: no Nagle delay.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
