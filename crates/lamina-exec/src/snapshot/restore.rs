//! One restore: the server's side of the handshake with a copy of a template (the copy's side
//! is `runtimes/python/lamina_snapstart.py`), then the copy as an [`Environment`].
//!
//! 1. The template gets `fork` with three descriptors: the copy's channel, the write end of
//!    the environment's output pipe and of its report pipe.
//! 2. The copy says `hello`: the message's credentials give its process id on the host.
//! 3. It says `unshared`: it is in its own new namespaces. The server maps the environment's
//!    uid and gid in its user namespace, moves it into the environment's cgroup and brings
//!    up its network (the Runtime API at 127.0.0.1:9001) in its network namespace.
//! 4. The server answers `go`, a JSON document: the uid, the size of `/tmp`, the runtime's
//!    environment variables and the seccomp programs to stack.

use std::io::{IoSlice, IoSliceMut, PipeReader, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lamina_jail::cgroup::Cgroup;
use lamina_jail::seccomp::SeccompFilters;
use lamina_types::{FunctionSpec, LambdaError};
use rustix::mount::OpenTreeFlags;
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

use super::{SNAP_START, Template};
use crate::Executor;
use crate::env_process::Restored;
use crate::environment::{Environment, Process};
use crate::jail_output::OutputPipes;
use crate::launch::{self, HostPaths, LaunchContext, LaunchPlan};
use crate::network::RuntimeApiSocket;
use crate::sandbox::{self, Scratch};
use crate::spawn::{self, StartError};

/// Longest wait for each of the copy's answers (it only forks and makes namespaces).
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// What a restore made before the copy became an environment.
struct Copy {
    scratch: Scratch,
    cgroup: Option<Box<dyn Cgroup>>,
    restored: Restored,
    output: PipeReader,
    api: RuntimeApiSocket,
    plan: LaunchPlan,
}

impl Executor {
    /// A new environment for `spec`, a copy of `template`.
    pub(super) async fn restore_from(
        &self,
        spec: &Arc<FunctionSpec>,
        template: &Arc<Template>,
    ) -> Result<Environment, StartError> {
        let started = Instant::now();
        let executor = self.clone();
        let (spec_for, template_for) = (Arc::clone(spec), Arc::clone(template));
        template.begin_restore().await;
        let copied =
            tokio::task::spawn_blocking(move || executor.copy(&spec_for, &template_for)).await;
        template.end_restore().await;
        let copy = copied
            .map_err(|e| restore_failed(&e))?
            .map_err(|e| restore_failed(&e))?;
        let id = copy
            .scratch
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let process = Process::Restored {
            restored: Box::new(copy.restored),
            output: OutputPipes {
                runtime: copy.output,
                extensions: None,
                report: None,
            },
        };
        let sink = self.function_sink(spec);
        let mut environment = Environment::spawn(
            id,
            copy.api,
            &copy.plan,
            sink,
            copy.scratch,
            copy.cgroup,
            process,
        )
        .map_err(|(e, scratch)| {
            self.remove_scratch(scratch);
            restore_failed(&e)
        })?;
        environment.started = started;
        environment.restored = true;
        Ok(environment)
    }

    /// The blocking part: the environment's resources, the handshake, the network.
    fn copy(&self, spec: &FunctionSpec, template: &Template) -> std::io::Result<Copy> {
        let sandboxes = &self.inner.sandboxes;
        let scratch = sandboxes.new_scratch(spec.ephemeral_storage_mb)?;
        let cgroup_name = scratch
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cgroup = match sandboxes.create_cgroup(&cgroup_name, &sandbox::limits_for(spec)) {
            Ok(cgroup) => cgroup,
            Err(e) => {
                sandboxes.remove_scratch(scratch);
                return Err(std::io::Error::other(e));
            }
        };
        match self.handshake(spec, template, &scratch, cgroup.as_deref()) {
            Ok((restored, output, api, plan)) => Ok(Copy {
                scratch,
                cgroup,
                restored,
                output,
                api,
                plan,
            }),
            Err(e) => {
                if let Some(cgroup) = cgroup {
                    sandbox::remove_cgroup(cgroup.as_ref());
                }
                sandboxes.remove_scratch(scratch);
                Err(e)
            }
        }
    }

    fn handshake(
        &self,
        spec: &FunctionSpec,
        template: &Template,
        scratch: &Scratch,
        cgroup: Option<&dyn Cgroup>,
    ) -> std::io::Result<(Restored, PipeReader, RuntimeApiSocket, LaunchPlan)> {
        let uid = scratch
            .id
            .ok_or_else(|| std::io::Error::other("SnapStart needs namespace isolation"))?;
        let (channel, theirs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        rustix::net::sockopt::set_socket_passcred(&channel, true)?;
        rustix::net::sockopt::set_socket_timeout(
            &channel,
            rustix::net::sockopt::Timeout::Recv,
            Some(ANSWER_WAIT),
        )?;
        let (output, output_writer) = std::io::pipe()?;
        let (report, report_writer) = std::io::pipe()?;
        let handed = [theirs.as_fd(), output_writer.as_fd(), report_writer.as_fd()];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&handed));
        rustix::net::sendmsg(
            &template.control,
            &[IoSlice::new(b"fork")],
            &mut control,
            SendFlags::empty(),
        )?;
        drop((theirs, output_writer, report_writer));
        let pid = hello(&channel)?;
        let restored = Restored::watch(pid, report)?;
        expect(&channel, b"unshared")?;
        for map in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{map}"), format!("{uid} {uid} 1"))?;
        }
        if let Some(cgroup) = cgroup {
            for procs in cgroup.procs_files() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&procs)?
                    .write_all(pid.to_string().as_bytes())?;
            }
        }
        let namespace = OwnedFd::from(std::fs::File::open(format!("/proc/{pid}/ns/net"))?);
        let api = self.inner.networks.adopt(namespace)?;
        // The environment's `/tmp` is its scratch tmpfs, as a new one's, holding what the
        // template's held; the copy attaches it in its own mount namespace.
        if let Some(from) = &template.tmp {
            copy_tree(from, &scratch.tmp(), uid)?;
        }
        let tmp = rustix::mount::open_tree(
            rustix::fs::CWD,
            scratch.tmp(),
            OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
        )?;
        let plan = self.restored_plan(spec, scratch, &api)?;
        let env = plan.jail.as_ref().map_or(&plan.env, |jail| &jail.env);
        let filters = SeccompFilters::compile().map_err(std::io::Error::other)?;
        let go = serde_json::json!({
            "uid": uid,
            "env": env,
            "seccomp": hex(&filters.to_bytes()),
        });
        let handed = [tmp.as_fd()];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&handed));
        rustix::net::sendmsg(
            &channel,
            &[IoSlice::new(go.to_string().as_bytes())],
            &mut control,
            SendFlags::empty(),
        )?;
        Ok((restored, output, api, plan))
    }

    /// The plan a new environment of `spec` would have: the restored runtime takes its
    /// environment variables (its own log stream, its Runtime API), and the environment its
    /// function information.
    fn restored_plan(
        &self,
        spec: &FunctionSpec,
        scratch: &Scratch,
        api: &RuntimeApiSocket,
    ) -> std::io::Result<LaunchPlan> {
        let config = &self.inner.config;
        let interpreter = config.interpreters.resolve(spec.runtime.as_str());
        let host = HostPaths {
            opt_view: std::path::PathBuf::new(),
            runtime: config.runtime_dir.clone(),
            runtime_sdk: None,
            tmp: scratch.tmp(),
            root: scratch.root(),
            sandbox_id: scratch.id,
            cgroup_procs: Vec::new(),
            network: None,
            bytecode: Default::default(),
        };
        let ctx = LaunchContext {
            isolation: config.isolation,
            interpreter: interpreter.as_ref(),
            runtime_api: &api.address(),
            log_stream: &spawn::log_stream_name(spec),
            jail_program: &config.jail_program,
            seccomp: config.seccomp,
        };
        let mut plan = launch::plan(spec, &host, &ctx).map_err(std::io::Error::other)?;
        plan.extensions.clear();
        spawn::set_initialization_type(&mut plan, SNAP_START);
        Ok(plan)
    }
}

/// The copy's `hello`: its process id on the host, from the message's credentials.
fn hello(channel: &OwnedFd) -> std::io::Result<u32> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 16];
    let received = rustix::net::recvmsg(
        channel,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::empty(),
    )?;
    if buf.get(..received.bytes) != Some(b"hello".as_slice()) {
        return Err(std::io::Error::other("the SnapStart copy did not start"));
    }
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmCredentials(credentials) = message {
            return u32::try_from(credentials.pid.as_raw_nonzero().get())
                .map_err(std::io::Error::other);
        }
    }
    Err(std::io::Error::other(
        "the SnapStart copy's hello had no credentials",
    ))
}

fn expect(channel: &OwnedFd, word: &[u8]) -> std::io::Result<()> {
    let mut buf = [0u8; 16];
    let (n, _) = rustix::net::recv(channel, &mut buf[..], RecvFlags::empty())?;
    if buf.get(..n) == Some(word) {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "the SnapStart copy answered {:?} instead of {:?}",
        String::from_utf8_lossy(&buf[..n]),
        String::from_utf8_lossy(word)
    )))
}

/// Copies the files, directories and symbolic links under `from` into `to`, owned by `uid`
/// (and its gid) with their modes. Other kinds of file (sockets, FIFOs) are left out.
fn copy_tree(from: &Path, to: &Path, uid: u32) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown};
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_tree(&entry.path(), &target, uid)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            continue;
        }
        lchown(&target, Some(uid), Some(uid))?;
        if !kind.is_symlink() {
            let mode = entry.metadata()?.mode() & 0o7777;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn restore_failed(e: &dyn std::fmt::Display) -> StartError {
    StartError::Lamina(LambdaError::Service(format!(
        "restoring from the SnapStart snapshot failed: {e}"
    )))
}
