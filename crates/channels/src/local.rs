//! The channels that write on this host: stdout, a file, syslog's socket, a program's stdin.
//! Their writes block, so each runs on its own thread, fed by a bounded queue; when one is
//! slow its queue fills and the dispatcher waits, which fills the alert queue, whose overflow
//! policy then applies: backpressure, never a silent loss.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::mpsc;

use crate::counters::ChannelCounters;
use crate::pipeline::{ChannelMsg, Delivery, Log};
use crate::syslog;

/// A channel whose writes block.
pub(crate) trait LocalChannel: Send {
    /// Writes one alert.
    fn write(&mut self, alert: &Delivery) -> io::Result<()>;
    /// Pushes out what is buffered.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Closes what it holds open (a file, a program) so that the next write opens it again
    /// (Falco does this on SIGUSR1).
    fn reopen(&mut self) {}
}

/// Runs a channel on its own thread until its queue closes.
pub(crate) fn spawn(
    mut channel: Box<dyn LocalChannel>,
    mut rx: mpsc::Receiver<ChannelMsg>,
    counters: Arc<ChannelCounters>,
    log: Log,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name(format!("lanner-{}", counters.name)).spawn(move || {
        // One line when the channel starts failing and one when it works again, not one
        // per alert.
        let mut failing = false;
        let report = |result: io::Result<()>, what: &str, failing: &mut bool| match result {
            Ok(()) => true,
            Err(err) => {
                counters.failed.fetch_add(1, Relaxed);
                if !*failing {
                    log(&format!("{} output: cannot {what}: {err}", counters.name));
                }
                *failing = true;
                false
            }
        };
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                ChannelMsg::Deliver(alert) => {
                    counters.backlog.fetch_sub(1, Relaxed);
                    if report(channel.write(&alert), "write an alert", &mut failing) {
                        if std::mem::take(&mut failing) {
                            log(&format!("{} output: working again.", counters.name));
                        }
                        counters.delivered.fetch_add(1, Relaxed);
                    } else {
                        counters.dropped.fetch_add(1, Relaxed);
                    }
                }
                ChannelMsg::Flush(ack) => {
                    report(channel.flush(), "flush", &mut failing);
                    let _ = ack.send(counters.name);
                }
                ChannelMsg::Reopen => channel.reopen(),
            }
        }
        report(channel.flush(), "flush", &mut failing);
    })
}

/// `stdout_output`: each alert a line; flushed after each unless `buffered_outputs`.
pub(crate) struct Stdout {
    out: BufWriter<io::Stdout>,
    buffered: bool,
}

impl Stdout {
    pub(crate) fn new(buffered: bool) -> Stdout {
        Stdout { out: BufWriter::with_capacity(64 * 1024, io::stdout()), buffered }
    }
}

impl LocalChannel for Stdout {
    fn write(&mut self, alert: &Delivery) -> io::Result<()> {
        self.out.write_all(alert.line.as_bytes())?;
        self.out.write_all(b"\n")?;
        if !self.buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `file_output`: appends each alert as a line; with `keep_alive` the file stays open (until
/// a reopen), otherwise it is opened for each alert, as Falco does.
pub(crate) struct FileChannel {
    path: PathBuf,
    keep_alive: bool,
    buffered: bool,
    file: Option<BufWriter<File>>,
}

impl FileChannel {
    pub(crate) fn new(path: PathBuf, keep_alive: bool, buffered: bool) -> FileChannel {
        FileChannel { path, keep_alive, buffered, file: None }
    }

    fn open(&self) -> io::Result<BufWriter<File>> {
        let file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        Ok(BufWriter::with_capacity(64 * 1024, file))
    }
}

impl LocalChannel for FileChannel {
    fn write(&mut self, alert: &Delivery) -> io::Result<()> {
        let mut file = match self.file.take() {
            Some(file) => file,
            None => self.open()?,
        };
        file.write_all(alert.line.as_bytes())?;
        file.write_all(b"\n")?;
        if !self.buffered || !self.keep_alive {
            file.flush()?;
        }
        if self.keep_alive {
            self.file = Some(file);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }

    fn reopen(&mut self) {
        if let Some(mut file) = self.file.take() {
            let _ = file.flush();
        }
    }
}

/// `program_output`: `sh -c PROGRAM`, each alert a line on its stdin. With `keep_alive` the
/// program is started once (again if it exits); otherwise once per alert, and lanner waits
/// for it, as Falco's `popen`/`pclose` does.
pub(crate) struct ProgramChannel {
    program: String,
    keep_alive: bool,
    buffered: bool,
    running: Option<(Child, BufWriter<ChildStdin>)>,
}

impl ProgramChannel {
    pub(crate) fn new(program: String, keep_alive: bool, buffered: bool) -> ProgramChannel {
        ProgramChannel { program, keep_alive, buffered, running: None }
    }

    fn start(&self) -> io::Result<(Child, BufWriter<ChildStdin>)> {
        let mut child =
            Command::new("/bin/sh").arg("-c").arg(&self.program).stdin(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| io::Error::other("no stdin pipe"))?;
        Ok((child, BufWriter::new(stdin)))
    }

    fn stop(&mut self) {
        if let Some((mut child, stdin)) = self.running.take() {
            // Closing stdin is the program's end of input; then it is waited for.
            drop(stdin);
            let _ = child.wait();
        }
    }

    fn write_line(stdin: &mut BufWriter<ChildStdin>, line: &str, flush: bool) -> io::Result<()> {
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        if flush { stdin.flush() } else { Ok(()) }
    }
}

impl LocalChannel for ProgramChannel {
    fn write(&mut self, alert: &Delivery) -> io::Result<()> {
        if !self.keep_alive {
            let (mut child, mut stdin) = self.start()?;
            let written = Self::write_line(&mut stdin, &alert.line, true);
            drop(stdin);
            let status = child.wait()?;
            written?;
            return if status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!("`{}` exited with {status}", self.program)))
            };
        }
        // A program that exited is started again, once per alert at most.
        for attempt in 0..2 {
            if self.running.is_none() {
                self.running = Some(self.start()?);
            }
            let Some((_, stdin)) = self.running.as_mut() else { continue };
            match Self::write_line(stdin, &alert.line, !self.buffered) {
                Ok(()) => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe && attempt == 0 => {
                    self.stop();
                }
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.running.as_mut() {
            Some((_, stdin)) => stdin.flush(),
            None => Ok(()),
        }
    }

    fn reopen(&mut self) {
        self.stop();
    }
}

impl Drop for ProgramChannel {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `syslog_output`: one datagram per alert to the syslog socket, with the alert's priority as
/// the severity of facility `user`.
pub(crate) struct SyslogChannel {
    address: PathBuf,
    format: lanner_config::SyslogFormat,
    ident: String,
    utc_offset: i64,
    socket: Option<UnixDatagram>,
    buf: String,
}

impl SyslogChannel {
    pub(crate) fn new(
        address: PathBuf,
        format: lanner_config::SyslogFormat,
        ident: String,
        utc_offset: i64,
    ) -> SyslogChannel {
        SyslogChannel { address, format, ident, utc_offset, socket: None, buf: String::new() }
    }

    fn send(&mut self) -> io::Result<()> {
        let socket = match self.socket.take() {
            Some(socket) => socket,
            None => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(&self.address)?;
                socket
            }
        };
        socket.send(self.buf.as_bytes())?;
        self.socket = Some(socket);
        Ok(())
    }
}

impl LocalChannel for SyslogChannel {
    fn write(&mut self, alert: &Delivery) -> io::Result<()> {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let pri = syslog::pri(syslog::FACILITY_USER, alert.priority as u8);
        self.buf.clear();
        match self.format {
            lanner_config::SyslogFormat::Rfc3164 => syslog::write_rfc3164(
                &mut self.buf,
                pri,
                now.as_secs() as i64,
                self.utc_offset,
                &self.ident,
                &alert.line,
            ),
            lanner_config::SyslogFormat::Rfc5424 => syslog::write_rfc5424(
                &mut self.buf,
                pri,
                now.as_nanos() as u64,
                &alert.hostname,
                &self.ident,
                std::process::id(),
                &alert.line,
            ),
        }
        // A daemon that restarted left the old socket behind: connect again, once.
        match self.send() {
            Ok(()) => Ok(()),
            Err(_) => self.send(),
        }
    }
}
