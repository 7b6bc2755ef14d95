//! A throwaway PostgreSQL server for tests: Debian's `postgresql` package, a cluster made by
//! `initdb` in a temporary directory, started by `pg_ctl` on a free loopback port, and
//! stopped and deleted when dropped.
//!
//! PostgreSQL refuses to run as root; when the tests do (as CI does), the server runs as the
//! unprivileged user `nobody`, through `setpriv`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running throwaway server.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_nobody: bool,
}

/// Where Debian installs the server's programs (`/usr/lib/postgresql/<version>/bin`), newest
/// version first, or the directory of an `initdb` on the `PATH`.
fn server_bin() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
        .ok_or_else(|| {
            "PostgreSQL's server is not installed: install Debian's postgresql package \
             (apt-get install postgresql), which .ci/run does"
                .to_string()
        })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    /// Makes and starts a server; its database `civitas` is empty, for user `civitas`
    /// without a password, on 127.0.0.1.
    pub fn start() -> Result<Self, String> {
        let bin = server_bin()?;
        let as_nobody = running_as_root();
        let dir = std::env::temp_dir().join(format!(
            "civitas-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        let server = Self {
            dir,
            bin,
            port,
            as_nobody,
        };
        if as_nobody {
            let status = Command::new("chown")
                .args(["nobody:nogroup"])
                .arg(&server.dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err("cannot give the server's directory to nobody".into());
            }
        }
        let data = server.dir.join("data");
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "civitas".as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        server.resume()?;
        server.run(
            "createdb",
            &[
                "-h".as_ref(),
                "127.0.0.1".as_ref(),
                "-p".as_ref(),
                port.to_string().as_ref(),
                "-U".as_ref(),
                "civitas".as_ref(),
                "civitas".as_ref(),
            ],
        )?;
        Ok(server)
    }

    /// The URL of its database `civitas`.
    pub fn url(&self) -> String {
        format!("postgres://civitas@127.0.0.1:{}/civitas", self.port)
    }

    /// Makes another empty database on the server and returns its URL.
    pub fn database(&self, name: &str) -> Result<String, String> {
        self.run(
            "createdb",
            &[
                "-h".as_ref(),
                "127.0.0.1".as_ref(),
                "-p".as_ref(),
                self.port.to_string().as_ref(),
                "-U".as_ref(),
                "civitas".as_ref(),
                name.as_ref(),
            ],
        )?;
        Ok(format!("postgres://civitas@127.0.0.1:{}/{name}", self.port))
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = if self.as_nobody {
            let mut command = Command::new("setpriv");
            command
                .args([
                    "--reuid=nobody",
                    "--regid=nogroup",
                    "--clear-groups",
                    "--reset-env",
                ])
                .arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            ))
        }
    }

    /// Starts the server (again, after [`Postgres::pause`]) on its port.
    pub fn resume(&self) -> Result<(), String> {
        let options = format!(
            "-k {} -p {} -h 127.0.0.1 -F -c max_connections=50",
            self.dir.display(),
            self.port
        );
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )
    }

    /// Stops the server, keeping its data (as a database that goes away for a while).
    pub fn pause(&self) -> Result<(), String> {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// The server's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
