# Sourced by both launchers (./deltaforge in the repository, bin/deltaforge in the distribution): the JVM
# options they add and the scheduling policy they run it under, each chosen by measurement (docs/performance.md,
# "JVM options"). DELTAFORGE_JAVA_OPTS come after the options and win; DELTAFORGE_JVM_DEFAULTS=off adds none.

# deltaforge_jvm_defaults JAVA CLASSPATH CLASSLIST: sets the array jvm_defaults. CLASSPATH is the runner's
# own (DELTAFORGE_CLASSPATH may follow it at run time), CLASSLIST the classes for the archive below.
deltaforge_jvm_defaults() {
  jvm_defaults=()
  [[ "${DELTAFORGE_JVM_DEFAULTS:-on}" == off ]] && return 0
  local opts="${DELTAFORGE_JAVA_OPTS:-}" all archive
  all=" $(deltaforge_every_jvm_option) "
  if deltaforge_few_cpus; then
    # On one or two CPUs the C2 compiler's threads take, for minutes after a start, the CPU that the
    # pipeline's threads are waiting for (the latency tail and the first minute's throughput): C1 only there.
    if [[ "$opts" != *Tiered* ]]; then
      jvm_defaults+=(-XX:TieredStopAtLevel=1)
    fi
    # The serial collector, where the JVM would pick G1 once it sees 2 GB of memory. A runner's live heap is
    # small: the serial collector kept the heap at its initial size where G1 grew it to gigabytes of fresh
    # memory in a backlog drain, and the first minute ran faster. Your own collector, in any of the JVM's
    # option variables, wins.
    if ! [[ "$all" =~ [[:space:]]-XX:[+-]Use[A-Za-z0-9]*GC[[:space:]] ]]; then
      jvm_defaults+=(-XX:+UseSerialGC)
    fi
  fi
  # Transparent huge pages for the heap where the kernel gives them only on request (enabled = madvise; with
  # always the heap has them anyway). A backlog drain lets G1 grow the heap into fresh memory, and with 4 KiB
  # pages every page costs a fault: about 30 % of the runner's CPU over a drain's first 200,000 events. Your own
  # TransparentHugePages option, in any of the JVM's option variables, wins.
  if [[ "$all" != *TransparentHugePages* ]] && deltaforge_huge_pages_on_request; then
    jvm_defaults+=(-XX:+UseTransparentHugePages)
  fi
  # Class-data sharing: the runner's classes parsed and verified once, then mapped by every start (the first
  # event 0.1-0.5 s sooner on 2 CPUs). Your own -Xshare or SharedArchiveFile option wins; without an archive
  # the JVM starts as it would anyway.
  if [[ "$opts" != *[Ss]hare* ]] && ! deltaforge_class_file_hook \
      && archive=$(deltaforge_cds_archive "$1" "$2" "$3"); then
    jvm_defaults+=("-XX:SharedArchiveFile=$archive")
  fi
}

# deltaforge_batch_scheduling: on one or two CPUs, puts this shell, and so the JVM it execs, under Linux's
# SCHED_BATCH policy: a runner thread that wakes up waits for the running thread's time slice to end instead
# of preempting it. On two cores the runner shares the CPUs with nats-server, whose one goroutine per stream is
# what a backlog drain waits on; a woken runner thread (a PubAck handed over, a batch passed on) would otherwise
# take the core from it. Needs chrt (util-linux); without it, or where the policy cannot be set, nothing changes.
# DELTAFORGE_JVM_DEFAULTS=off leaves the policy as it is.
deltaforge_batch_scheduling() {
  [[ "${DELTAFORGE_JVM_DEFAULTS:-on}" == off ]] && return 0
  deltaforge_few_cpus && command -v chrt >/dev/null 2>&1 || return 0
  chrt --batch --pid 0 "$$" >/dev/null 2>&1 || true
}

# deltaforge_few_cpus: succeeds on one or two CPUs (as nproc counts them: the affinity mask, so taskset counts),
# where two of the launcher's defaults apply.
deltaforge_few_cpus() {
  local cpus
  cpus=$(nproc 2>/dev/null || echo 4)
  (( cpus <= 2 ))
}

# deltaforge_every_jvm_option: the options of every variable the JVM reads them from, ours included.
deltaforge_every_jvm_option() {
  printf '%s\n' "${DELTAFORGE_JAVA_OPTS:-} ${JAVA_TOOL_OPTIONS:-} ${JDK_JAVA_OPTIONS:-}"
}

# deltaforge_huge_pages_on_request: succeeds when the kernel gives transparent huge pages to memory that asks for
# them (madvise). Bash alone: the launcher needs no tool for it.
deltaforge_huge_pages_on_request() {
  local setting=/sys/kernel/mm/transparent_hugepage/enabled mode
  [[ -r "$setting" ]] || return 1
  mode=$(< "$setting")
  [[ "$mode" == *"[madvise]"* ]]
}

# deltaforge_class_file_hook: succeeds when the JVM will start with a Java agent or the flight recorder, from
# any of the options a JVM reads. Both watch every class as it loads, and OpenJDK 17 crashes (SIGSEGV in
# check_shared_class_file_load_hook) loading an archived class of this archive under such a hook; later JDKs
# print errors about it. Such a start goes without the archive. Starting the recorder later (jcmd) was tried
# without a crash.
deltaforge_class_file_hook() {
  local all
  all=$(deltaforge_every_jvm_option)
  [[ "$all" == *-javaagent* || "$all" == *-agentlib* || "$all" == *-agentpath* || "$all" == *-Xrun* \
      || "$all" == *FlightRecord* ]] || return 1
  echo "deltaforge: starting without the class-data-sharing archive: a Java agent or the flight recorder is set" >&2
}

# deltaforge_cds_archive JAVA CLASSPATH CLASSLIST: prints the archive for this Java runtime and class path,
# made first (once, a few seconds) when there is none. Fails, and nothing is used, when a tool, the cache
# directory or the dump is missing.
deltaforge_cds_archive() {
  local java="$1" classpath="$2" classlist="$3"
  local dir="${DELTAFORGE_CDS_DIR:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/deltaforge}"
  local java_bin entry files=() entries=() path_key state_key archive tmp
  [[ -f "$classlist" ]] || return 1
  command -v stat >/dev/null && command -v cksum >/dev/null && command -v mkdir >/dev/null \
    && command -v mv >/dev/null && command -v rm >/dev/null || return 1
  java_bin=$(command -v "$java") || return 1
  IFS=: read -r -a entries <<< "$classpath"
  for entry in "${entries[@]}"; do
    if [[ "$entry" == */\* ]]; then
      files+=("${entry%\*}"*.jar)
    else
      files+=("$entry")
    fi
  done
  # An archive fits exactly one runtime and one class path, so its name checksums both: the paths, and
  # each file's size and modification time, so that a rebuilt jar or an updated JDK gets a new one.
  path_key=$(printf '%s\n' "$classpath" "$java_bin" | cksum) || return 1
  state_key=$(stat -L -c '%n %s %Y' "$java_bin" "$classlist" "${files[@]}" 2>/dev/null | cksum) || return 1
  archive="$dir/runner-${path_key%% *}-${state_key%% *}.jsa"
  if [[ ! -f "$archive" ]]; then
    mkdir -p "$dir" 2>/dev/null || return 1
    echo "deltaforge: writing a class-data-sharing archive for faster starts, once per build: $archive" >&2
    tmp="$archive.$$.tmp"
    # Written aside and renamed, so that a start never maps a half-written archive; the archives of
    # earlier builds of the same class path go.
    if ! "$java" -Xshare:dump "-XX:SharedClassListFile=$classlist" "-XX:SharedArchiveFile=$tmp" \
        -cp "$classpath" >/dev/null 2>&1; then
      rm -f "$tmp"
      return 1
    fi
    rm -f "$dir/runner-${path_key%% *}-"*.jsa
    mv -f "$tmp" "$archive" || { rm -f "$tmp"; return 1; }
  fi
  printf '%s\n' "$archive"
}
