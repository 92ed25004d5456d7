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

use std::io::{IoSlice, PipeReader, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lamina_jail::cgroup::Cgroup;
use lamina_types::{FunctionSpec, LambdaError};
use rustix::mount::OpenTreeFlags;
use rustix::net::{
    AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

use super::protocol::{Steps, expect, hello, seccomp_programs};
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

/// A copy forked and moved into an environment of its own (uid, cgroup, network, `/tmp`),
/// waiting for `go`: made at a cold start, or ahead of one (each template keeps one spare, so
/// a cold start finds its environment made and only says `go`).
pub(crate) struct Spare {
    scratch: Scratch,
    cgroup: Option<Box<dyn Cgroup>>,
    restored: Restored,
    output: PipeReader,
    api: RuntimeApiSocket,
    channel: OwnedFd,
    tmp: OwnedFd,
    uid: u32,
}

/// A copy told `go`: what its [`Environment`] is made of.
struct Copy {
    scratch: Scratch,
    cgroup: Option<Box<dyn Cgroup>>,
    restored: Restored,
    output: PipeReader,
    api: RuntimeApiSocket,
    plan: LaunchPlan,
}

impl Executor {
    /// A new environment for `spec`, a copy of `template`: its spare when it has one (made
    /// anew if that one failed), then a new spare is made in the background.
    pub(super) async fn restore_from(
        &self,
        spec: &Arc<FunctionSpec>,
        template: &Arc<Template>,
    ) -> Result<Environment, StartError> {
        let started = Instant::now();
        let mut copy = None;
        if let Some(spare) = template.take_spare() {
            match self.go(spec, *spare).await {
                Ok(told) => copy = Some(told),
                Err(e) => {
                    tracing::warn!(function = %spec.function_name, error = %e, "a spare SnapStart copy failed; restoring anew")
                }
            }
        }
        let copy = match copy {
            Some(copy) => copy,
            None => {
                let spare = self.make_spare(spec, template).await?;
                self.go(spec, spare).await.map_err(|e| restore_failed(&e))?
            }
        };
        self.refill(spec, template);
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

    /// Makes `template`'s spare in the background, unless it has one.
    pub(super) fn refill(&self, spec: &Arc<FunctionSpec>, template: &Arc<Template>) {
        if template.has_spare() || self.inner.stopping.is_cancelled() {
            return;
        }
        let (executor, spec, template) = (self.clone(), Arc::clone(spec), Arc::clone(template));
        self.inner.tasks.spawn(async move {
            match executor.make_spare(&spec, &template).await {
                Ok(spare) => {
                    if let Err(extra) = template.put_spare(Box::new(spare)) {
                        executor.discard_spare(*extra);
                    }
                }
                Err(e) => tracing::warn!(function = %spec.function_name, error = ?e, "a spare SnapStart copy could not be made"),
            }
        });
    }

    /// Removes a spare that will not be used: its processes, cgroup and scratch.
    pub(super) fn discard_spare(&self, spare: Spare) {
        let sandboxes = Arc::clone(&self.inner.sandboxes);
        self.inner.tasks.spawn_blocking(move || {
            let Spare {
                scratch,
                cgroup,
                restored,
                ..
            } = spare;
            drop(restored);
            if let Some(cgroup) = cgroup {
                sandbox::remove_cgroup(cgroup.as_ref());
            }
            sandboxes.remove_scratch(scratch);
        });
    }

    /// A new copy of `template` in an environment of its own (the template is thawed
    /// meanwhile).
    async fn make_spare(
        &self,
        spec: &Arc<FunctionSpec>,
        template: &Arc<Template>,
    ) -> Result<Spare, StartError> {
        let executor = self.clone();
        let (spec_for, template_for) = (Arc::clone(spec), Arc::clone(template));
        template.begin_restore().await;
        let made =
            tokio::task::spawn_blocking(move || executor.prepare(&spec_for, &template_for)).await;
        template.end_restore().await;
        made.map_err(|e| restore_failed(&e))?
            .map_err(|e| restore_failed(&e))
    }

    /// Tells a spare `go` with the environment's own variables (a new log stream).
    async fn go(&self, spec: &Arc<FunctionSpec>, spare: Spare) -> std::io::Result<Copy> {
        let executor = self.clone();
        let spec = Arc::clone(spec);
        tokio::task::spawn_blocking(move || executor.finish(&spec, spare))
            .await
            .map_err(std::io::Error::other)?
    }

    /// The blocking part of a spare: its resources, the handshake, its network and `/tmp`.
    fn prepare(&self, spec: &FunctionSpec, template: &Template) -> std::io::Result<Spare> {
        let mut steps = Steps::new();
        let sandboxes = &self.inner.sandboxes;
        let scratch = sandboxes.new_scratch(spec.ephemeral_storage_mb)?;
        steps.done("scratch");
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
        steps.done("cgroup");
        let handshake = self.handshake(template, &scratch, cgroup.as_deref(), &mut steps);
        tracing::debug!(function = %spec.function_name, steps = %steps, "SnapStart copy made");
        match handshake {
            Ok((restored, output, api, channel, tmp, uid)) => Ok(Spare {
                scratch,
                cgroup,
                restored,
                output,
                api,
                channel,
                tmp,
                uid,
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

    /// The copy's side until `go`: the fork, its namespaces, then the server's: its uid map,
    /// cgroup, network and `/tmp`.
    #[allow(clippy::type_complexity)]
    fn handshake(
        &self,
        template: &Template,
        scratch: &Scratch,
        cgroup: Option<&dyn Cgroup>,
        steps: &mut Steps,
    ) -> std::io::Result<(
        Restored,
        PipeReader,
        RuntimeApiSocket,
        OwnedFd,
        OwnedFd,
        u32,
    )> {
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
        steps.done("fork");
        let restored = Restored::watch(pid, report)?;
        expect(&channel, b"unshared")?;
        steps.done("unshare");
        for map in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{map}"), format!("{uid} {uid} 1"))?;
        }
        steps.done("maps");
        if let Some(cgroup) = cgroup {
            for procs in cgroup.procs_files() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&procs)?
                    .write_all(pid.to_string().as_bytes())?;
            }
        }
        steps.done("cgroup attach");
        let namespace = OwnedFd::from(std::fs::File::open(format!("/proc/{pid}/ns/net"))?);
        let api = self.inner.networks.adopt(namespace)?;
        steps.done("network");
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
        steps.done("tmp");
        Ok((restored, output, api, channel, tmp, uid))
    }

    /// Says `go` to a spare: the uid, the runtime's environment variables, the seccomp
    /// programs to stack, and its `/tmp`. A spare that cannot be told is removed.
    fn finish(&self, spec: &FunctionSpec, spare: Spare) -> std::io::Result<Copy> {
        let told = (|| {
            let plan = self.restored_plan(spec, &spare.scratch, &spare.api)?;
            let env = plan.jail.as_ref().map_or(&plan.env, |jail| &jail.env);
            let go = serde_json::json!({
                "uid": spare.uid,
                "env": env,
                "seccomp": seccomp_programs()?,
            });
            let handed = [spare.tmp.as_fd()];
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            control.push(SendAncillaryMessage::ScmRights(&handed));
            rustix::net::sendmsg(
                &spare.channel,
                &[IoSlice::new(go.to_string().as_bytes())],
                &mut control,
                SendFlags::empty(),
            )?;
            Ok(plan)
        })();
        match told {
            Ok(plan) => Ok(Copy {
                scratch: spare.scratch,
                cgroup: spare.cgroup,
                restored: spare.restored,
                output: spare.output,
                api: spare.api,
                plan,
            }),
            Err(e) => {
                self.discard_spare(spare);
                Err(e)
            }
        }
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

fn restore_failed(e: &dyn std::fmt::Display) -> StartError {
    StartError::Lamina(LambdaError::Service(format!(
        "restoring from the SnapStart snapshot failed: {e}"
    )))
}
