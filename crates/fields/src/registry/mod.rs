//! The field registry: every field's name, type, flags, description, and how its argument is
//! written.

mod plugin;
mod table;

pub use plugin::{
    PluginExtractor, PluginField, PluginFieldSpec, RegisterError, plugin_field, plugin_fields,
    register_plugin_fields,
};

use lanner_event::ParamType;

/// Field flags, libs' `EPF_*`.
pub mod epf {
    /// Only usable in filters (`fd.ip`, `fd.port`, `fd.net` ...).
    pub const FILTER_ONLY: u32 = 1 << 0;
    /// Only usable in output formats.
    pub const PRINT_ONLY: u32 = 1 << 1;
    /// Needs an argument (`evt.arg.X`, `thread.cgroup.X` ...).
    pub const ARG_REQUIRED: u32 = 1 << 2;
    /// Hidden from listings: meant for table views.
    pub const TABLE_ONLY: u32 = 1 << 3;
    /// Takes an optional argument (`proc.aname[N]`).
    pub const ARG_ALLOWED: u32 = 1 << 6;
    /// The argument may be a number (`container.mount[0]`): plugin fields say so.
    pub const ARG_INDEX: u32 = 1 << 7;
    /// The argument may be a key (`container.label[app]`): plugin fields say so.
    pub const ARG_KEY: u32 = 1 << 8;
    /// Deprecated.
    pub const DEPRECATED: u32 = 1 << 9;
    /// Cannot be the argument of a transformer.
    pub const NO_TRANSFORMER: u32 = 1 << 10;
    /// Cannot be a right-hand-side field (`val(...)`).
    pub const NO_RHS: u32 = 1 << 11;
    /// Values are not stable across events (libs' internal hint).
    pub const NO_PTR_STABILITY: u32 = 1 << 12;
    /// The field yields a list of values.
    pub const IS_LIST: u32 = 1 << 13;
    /// Suggested for outputs (`container.id`, `k8s.pod.name` ...): Falco appends such fields
    /// to rule outputs when asked to.
    pub const FORMAT_SUGGESTED: u32 = 1 << 14;
}

/// The group a field belongs to: libs' filter-check classes, which `--list` prints as headings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `evt.*` fields of every event source (`evt.num`, `evt.time` ...).
    Evt,
    /// `evt.*` fields of syscall events only, and `syscall.type`.
    SyscallEvt,
    /// `proc.*`, `thread.*`.
    Process,
    /// `user.*`.
    User,
    /// `group.*`.
    Group,
    /// `container.*`, `k8s.*` and `proc.is_container_*`: the fields of Falco's container
    /// plugin.
    Container,
    /// `fd.*`.
    Fd,
    /// `fs.path.*`.
    FsPath,
    /// `util.*`.
    Util,
    /// `fdlist.*`.
    FdList,
    /// `static.*`: the `static_fields` of the configuration.
    Static,
    /// The fields of a loaded plugin ([`register_plugin_fields`]); listed apart from
    /// [`Class::ALL`], one class per plugin.
    Plugin,
}

impl Class {
    /// Every class, in the order libs registers them (`filter_check_list.cpp`), which is the
    /// order of listings.
    ///
    /// The container class sits where libs registered its built-in container class, before
    /// the container plugin took its fields over (libs 0.20); the plugin's class comes after
    /// every built-in one in Falco's own listing.
    pub const ALL: [Class; 11] = [
        Class::Evt,
        Class::SyscallEvt,
        Class::Process,
        Class::User,
        Class::Group,
        Class::Container,
        Class::Fd,
        Class::FsPath,
        Class::Util,
        Class::FdList,
        Class::Static,
    ];

    /// The class name, as libs names it (two classes are called `evt`).
    pub fn name(self) -> &'static str {
        match self {
            Class::Evt | Class::SyscallEvt => "evt",
            Class::Process => "process",
            Class::User => "user",
            Class::Group => "group",
            Class::Container => "container",
            Class::Fd => "fd",
            Class::FsPath => "fs.path",
            Class::Util => "util",
            Class::FdList => "fdlist",
            Class::Static => "static",
            Class::Plugin => "plugin",
        }
    }

    /// The short description that tells apart classes of the same name, or "".
    pub fn short_desc(self) -> &'static str {
        match self {
            Class::Evt => "All event types",
            Class::SyscallEvt => "Syscall events only",
            _ => "",
        }
    }

    /// What the class covers, as libs describes it.
    pub fn description(self) -> &'static str {
        match self {
            Class::Evt => "These fields can be used for all event types",
            Class::SyscallEvt => {
                "Event fields applicable to syscall events. Note that for most events you can access the individual arguments/parameters of each syscall via evt.arg, e.g. evt.arg.filename."
            }
            Class::Process => {
                "Additional information about the process and thread executing the syscall event."
            }
            Class::User => "Information about the user executing the specific event.",
            Class::Group => "Information about the user group.",
            Class::Container => {
                "Container information. If the event is not happening inside a container, both id and name will be set to 'host'."
            }
            Class::Fd => {
                "Every syscall that has a file descriptor in its arguments has these fields set with information related to the file."
            }
            Class::FdList => "Poll event related fields.",
            Class::FsPath => {
                "Every syscall that has a filesystem path in its arguments has these fields set with information related to the path arguments. This differs from the fd.* fields as it includes syscalls like unlink, rename, etc. that act directly on filesystem paths as compared to opened file descriptors."
            }
            Class::Util => "",
            Class::Static => "Fields whose values the configuration sets (`static_fields`).",
            Class::Plugin => "Fields of a loaded plugin.",
        }
    }

    /// Whether listings leave the class out (libs' `FL_HIDDEN`: `util.cnt` exists for
    /// formats but is not advertised; `static.*` exist only as configured).
    pub fn hidden(self) -> bool {
        matches!(self, Class::Util | Class::Static)
    }
}

/// One field of the registry.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    /// Which field (the extractor dispatches on it).
    pub id: FieldId,
    /// Its class.
    pub class: Class,
    /// Its name, e.g. `proc.name`.
    pub name: &'static str,
    /// The type of its values.
    pub ty: ParamType,
    /// `EPF_*` flags ([`epf`]).
    pub flags: u32,
    /// A short title.
    pub display: &'static str,
    /// What it means.
    pub desc: &'static str,
}

impl FieldDef {
    /// Whether a flag of [`epf`] is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// All fields, in libs' registration order.
pub fn fields() -> &'static [FieldDef] {
    table::FIELDS
}

/// The field with exactly this name: a built-in field, else a field of a loaded plugin.
pub fn lookup(name: &str) -> Option<&'static FieldDef> {
    table::FIELDS.iter().find(|f| f.name == name).or_else(|| plugin_field(name).map(|p| p.def))
}

/// Every field name: the built-in ones, then those of loaded plugins (for "did you mean").
pub fn all_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = table::FIELDS.iter().map(|f| f.name).collect();
    names.extend(plugin_fields().iter().map(|p| p.def.name));
    names
}

/// The definition of a field id.
pub fn def(id: FieldId) -> &'static FieldDef {
    // The table is in the same order as the enum.
    &table::FIELDS[id as usize]
}

impl FieldId {
    /// Whether the field's value on an event depends on events of every type before it: the
    /// latency fields read what the thread's last syscall took, which scheduler and internal
    /// events in between leave as it was.
    pub fn reads_event_history(self) -> bool {
        matches!(
            self,
            FieldId::EvtLatency
                | FieldId::EvtLatencyS
                | FieldId::EvtLatencyNs
                | FieldId::EvtLatencyQuantized
                | FieldId::EvtLatencyHuman
                | FieldId::EvtWaitLatency
        )
    }

    /// Whether the field's value for an event follows from the event's thread id and the
    /// process tree alone (which threads exist, their pids, parents, commands, executables,
    /// arguments and environments): the ancestor and parent fields. It then stays the same while
    /// [`lanner_state::State::lineage_generation`] does, which lets a filter remember it.
    pub fn reads_lineage(self) -> bool {
        matches!(
            self,
            FieldId::ProcAname
                | FieldId::ProcApid
                | FieldId::ProcAexe
                | FieldId::ProcAexepath
                | FieldId::ProcAcmdline
                | FieldId::ProcAargs
                | FieldId::ProcAenv
                | FieldId::ProcPname
                | FieldId::ProcPexe
                | FieldId::ProcPexepath
                | FieldId::ProcPcmdline
        )
    }

    /// Whether the field reads a thread's memory or page-fault counters, which many events
    /// update (context switches, `mmap`, `brk` ...).
    pub fn reads_memory_counters(self) -> bool {
        matches!(
            self,
            FieldId::ProcVmsize
                | FieldId::ProcVmrss
                | FieldId::ProcVmswap
                | FieldId::ThreadPfmajor
                | FieldId::ThreadPfminor
                | FieldId::ThreadVmsize
                | FieldId::ThreadVmrss
                | FieldId::ThreadVmsizeB
                | FieldId::ThreadVmrssB
        )
    }
}

/// Every field, one variant each, in the order of the registry (the extractor dispatches on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[expect(missing_docs, reason = "one variant per field, named after it")]
pub enum FieldId {
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso8601,
    EvtDatetime,
    EvtDatetimeS,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtReltime,
    EvtReltimeS,
    EvtReltimeNs,
    EvtPluginname,
    EvtPlugininfo,
    EvtSource,
    EvtIsAsync,
    EvtAsynctype,
    EvtHostname,
    EvtLatency,
    EvtLatencyS,
    EvtLatencyNs,
    EvtLatencyQuantized,
    EvtLatencyHuman,
    EvtDeltatime,
    EvtDeltatimeS,
    EvtDeltatimeNs,
    EvtOutputtime,
    EvtDir,
    EvtType,
    EvtTypeIs,
    SyscallType,
    EvtCategory,
    EvtCpu,
    EvtArgs,
    EvtArg,
    EvtRawarg,
    EvtInfo,
    EvtBuffer,
    EvtBuflen,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    EvtIoDir,
    EvtIsWait,
    EvtWaitLatency,
    EvtIsSyslog,
    EvtCount,
    EvtCountError,
    EvtCountErrorFile,
    EvtCountErrorNet,
    EvtCountErrorMemory,
    EvtCountErrorOther,
    EvtCountExit,
    EvtCountProcinfo,
    EvtCountThreadinfo,
    EvtAround,
    EvtAbspath,
    EvtBuflenIn,
    EvtBuflenOut,
    EvtBuflenFile,
    EvtBuflenFileIn,
    EvtBuflenFileOut,
    EvtBuflenNet,
    EvtBuflenNetIn,
    EvtBuflenNetOut,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtInfraDockerName,
    EvtInfraDockerContainerId,
    EvtInfraDockerContainerName,
    EvtInfraDockerContainerImage,
    EvtIsOpenExec,
    EvtIsOpenCreate,
    ProcExe,
    ProcPexe,
    ProcAexe,
    ProcExepath,
    ProcPexepath,
    ProcAexepath,
    ProcName,
    ProcPname,
    ProcAname,
    ProcArgs,
    ProcAargs,
    ProcCmdline,
    ProcPcmdline,
    ProcAcmdline,
    ProcCmdnargs,
    ProcCmdlenargs,
    ProcExeline,
    ProcEnv,
    ProcAenv,
    ProcCwd,
    ProcLoginshellid,
    ProcTty,
    ProcPid,
    ProcPpid,
    ProcApid,
    ProcVpid,
    ProcPvpid,
    ProcSid,
    ProcSname,
    ProcSidExe,
    ProcSidExepath,
    ProcVpgid,
    ProcVpgidName,
    ProcVpgidExe,
    ProcVpgidExepath,
    ProcPgid,
    ProcPgidName,
    ProcPgidExe,
    ProcPgidExepath,
    ProcDuration,
    ProcPpidDuration,
    ProcPidTs,
    ProcPpidTs,
    ProcIsExeWritable,
    ProcIsExeUpperLayer,
    ProcIsExeLowerLayer,
    ProcIsExeFromMemfd,
    ProcIsSidLeader,
    ProcIsVpgidLeader,
    ProcIsPgidLeader,
    ProcExeIno,
    ProcExeInoCtime,
    ProcExeInoMtime,
    ProcExeInoCtimeDurationProcStart,
    ProcExeInoCtimeDurationPidnsStart,
    ProcPidnsInitStartTs,
    ThreadCapPermitted,
    ThreadCapInheritable,
    ThreadCapEffective,
    ProcFdopencount,
    ProcFdlimit,
    ProcFdusage,
    ProcVmsize,
    ProcVmrss,
    ProcVmswap,
    ThreadPfmajor,
    ThreadPfminor,
    ThreadTid,
    ThreadIsmain,
    ThreadVtid,
    ThreadNametid,
    ThreadExectime,
    ThreadTotexectime,
    ThreadCgroups,
    ThreadCgroup,
    ProcNthreads,
    ProcNchilds,
    ThreadCpu,
    ThreadCpuUser,
    ThreadCpuSystem,
    ThreadVmsize,
    ThreadVmrss,
    ThreadVmsizeB,
    ThreadVmrssB,
    ProcStdinType,
    ProcStdoutType,
    ProcStderrType,
    ProcStdinName,
    ProcStdoutName,
    ProcStderrName,
    UserUid,
    UserName,
    UserHomedir,
    UserShell,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageId,
    ContainerType,
    ContainerPrivileged,
    ContainerMounts,
    ContainerMount,
    ContainerMountSource,
    ContainerMountDest,
    ContainerMountMode,
    ContainerMountRdwr,
    ContainerMountPropagation,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerHealthcheck,
    ContainerLivenessProbe,
    ContainerReadinessProbe,
    ContainerStartTs,
    ContainerDuration,
    ContainerIp,
    ContainerCniJson,
    ContainerHostPid,
    ContainerHostNetwork,
    ContainerHostIpc,
    ContainerLabel,
    ContainerLabels,
    ProcIsContainerHealthcheck,
    ProcIsContainerLivenessProbe,
    ProcIsContainerReadinessProbe,
    K8sPodName,
    K8sNsName,
    K8sPodId,
    K8sPodUid,
    K8sPodSandboxId,
    K8sPodFullSandboxId,
    K8sPodLabel,
    K8sPodLabels,
    K8sPodIp,
    K8sPodCniJson,
    K8sRcName,
    K8sRcId,
    K8sRcLabel,
    K8sRcLabels,
    K8sSvcName,
    K8sSvcId,
    K8sSvcLabel,
    K8sSvcLabels,
    K8sNsId,
    K8sNsLabel,
    K8sNsLabels,
    K8sRsName,
    K8sRsId,
    K8sRsLabel,
    K8sRsLabels,
    K8sDeploymentName,
    K8sDeploymentId,
    K8sDeploymentLabel,
    K8sDeploymentLabels,
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdDirectory,
    FdFilename,
    FdIp,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdPort,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdUid,
    FdContainername,
    FdContainerdirectory,
    FdProto,
    FdCproto,
    FdSproto,
    FdLproto,
    FdRproto,
    FdNet,
    FdCnet,
    FdSnet,
    FdLnet,
    FdRnet,
    FdConnected,
    FdNameChanged,
    FdCipName,
    FdSipName,
    FdLipName,
    FdRipName,
    FdDev,
    FdDevMajor,
    FdDevMinor,
    FdIno,
    FdNameraw,
    FdTypes,
    FdIsUpperLayer,
    FdIsLowerLayer,
    FdlistNums,
    FdlistNames,
    FdlistCips,
    FdlistSips,
    FdlistCports,
    FdlistSports,
    FsPathName,
    FsPathNameraw,
    FsPathSource,
    FsPathSourceraw,
    FsPathTarget,
    FsPathTargetraw,
    UtilCnt,
    /// `static.NAME`: a value of `static_fields`.
    Static,
    /// A field of a loaded plugin; which one is in the [`FieldDef`] and the [`PluginField`].
    Plugin,
}
