//! `civitas index`: the node's read model, the database behind the API's lists.

use anyhow::{Context, Result, bail};
use civitas_kit::index::Index;
use clap::Subcommand;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum Command {
    /// Where the read model stands: its database, the height applied, what it holds.
    ///
    /// Example: civitas index status --config devnet/node0/node.toml
    Status {
        /// The node's configuration.
        #[arg(long, default_value = "node.toml")]
        config: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Empties the read model; the node builds it again from block 1 (at once if it runs,
    /// at its next start if not). The ledger is not touched.
    ///
    /// Example: civitas index rebuild --config devnet/node0/node.toml --wait
    Rebuild {
        /// The node's configuration.
        #[arg(long, default_value = "node.toml")]
        config: PathBuf,
        /// Wait until the running node has rebuilt it to the height it had.
        #[arg(long)]
        wait: bool,
    },
}

/// How long `rebuild --wait` waits without progress before it says the node seems stopped.
const STALL: Duration = Duration::from_secs(30);

pub fn run(command: Command) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            Command::Status { config, json } => status(&config, json).await,
            Command::Rebuild { config, wait } => rebuild(&config, wait).await,
        }
    })
}

async fn open(config: &std::path::Path) -> Result<(Index, civitas_core::hash::Hash32)> {
    let (url, chain) = crate::node_cmd::index_of(config)?;
    let index = Index::open(&url, civitas_modules::INDEX_TABLES)
        .await
        .with_context(|| format!("cannot open the read model of {}", config.display()))?;
    Ok((index, chain))
}

async fn status(config: &std::path::Path, json: bool) -> Result<()> {
    let (index, chain) = open(config).await?;
    let applied = index.applied().await?;
    let (blocks, transactions, events) = index.counts().await?;
    let other_chain = index.check_chain(&chain).await.err().map(|e| e.to_string());
    if json {
        crate::output::print_json(&serde_json::json!({
            "backend": index.backend(),
            "location": index.location(),
            "height": applied.as_ref().map_or(0, |a| a.height),
            "digest": applied.as_ref().map(|a| a.digest.to_hex()),
            "blocks": blocks,
            "transactions": transactions,
            "events": events,
            "problem": other_chain,
        }));
    } else {
        println!(
            "database:     {:?} at {}",
            index.backend(),
            index.location()
        );
        match &applied {
            Some(a) => println!("applied:      block {} ({})", a.height, a.digest),
            None => println!("applied:      nothing yet"),
        }
        println!("holds:        {blocks} blocks, {transactions} transactions, {events} events");
        if let Some(problem) = &other_chain {
            println!("problem:      {problem}");
        }
    }
    index.close().await;
    Ok(())
}

async fn rebuild(config: &std::path::Path, wait: bool) -> Result<()> {
    let (index, _) = open(config).await?;
    let had = index.applied().await?.map_or(0, |a| a.height);
    index.reset().await?;
    println!(
        "emptied the read model at {} (it had block {had}); the node builds it again from block 1",
        index.location()
    );
    if !wait {
        println!(
            "follow it with: civitas index status --config {}",
            config.display()
        );
        index.close().await;
        return Ok(());
    }
    let mut last = 0;
    let mut moved = Instant::now();
    loop {
        let now = index.applied().await?.map_or(0, |a| a.height);
        if now >= had {
            println!("rebuilt to block {now}");
            break;
        }
        if now != last {
            last = now;
            moved = Instant::now();
        } else if moved.elapsed() > STALL {
            index.close().await;
            bail!(
                "the read model has stayed at block {now} for {} s: is the node running? It rebuilds at its next start",
                STALL.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    index.close().await;
    Ok(())
}
