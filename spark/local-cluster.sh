#!/usr/bin/env bash
# A Spark standalone cluster on this machine, from the Spark jars Maven resolved (no Spark download):
# one Master and one Worker, on 127.0.0.1 by default. For trying dit-spark against a real cluster manager
# (executors in their own JVMs, closures serialised, the model loaded per executor) and for the tests.
#   spark/local-cluster.sh start [--cores N] [--memory 4g] [--port 7077]   prints the master URL
#   spark/local-cluster.sh stop
#   DIT_CLUSTER_DIR   where logs, pids and the Spark home go (default spark/target/cluster)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$root/.mvn/find-jdk25.sh"
_dit_find_jdk25 || exit 2
dir="${DIT_CLUSTER_DIR:-$root/spark/target/cluster}"
cmd="${1:-}"; shift || true
cores=2; memory=4g; port=7077; host="${SPARK_LOCAL_IP:-127.0.0.1}"
while [ $# -gt 0 ]; do
  case "$1" in
    --cores) cores="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "local-cluster: unknown option $1 (--cores N, --memory SIZE, --port P)" >&2; exit 2 ;;
  esac
done

stop() {
  for p in worker master; do
    if [ -f "$dir/$p.pid" ]; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; rm -f "$dir/$p.pid"; fi
  done
}

case "$cmd" in
  start)
    cp="$root/spark/target/spark-classpath.txt"
    if [ ! -f "$cp" ]; then (cd "$root" && ./mvnw -q -DskipTests -pl spark -am package) >&2; fi
    stop
    mkdir -p "$dir/home/jars" "$dir/work"
    # A Spark home the Worker builds executor command lines from: jars/ links to the resolved Spark jars.
    rm -f "$dir/home/jars/"*.jar
    tr ":" "\n" <"$cp" | while read -r j || [ -n "$j" ]; do ln -sf "$j" "$dir/home/jars/"; done
    read -r -a opts <<<"$(sed -n 's:.*<spark.jvm.options>\(.*\)</spark.jvm.options>.*:\1:p' "$root/spark/pom.xml")"
    export SPARK_HOME="$dir/home" SPARK_LOCAL_IP="$host" SPARK_SCALA_VERSION=2.13
    java=("$JAVA_HOME/bin/java" "${opts[@]}" -Xmx512m --enable-native-access=ALL-UNNAMED -Dlog4j2.configurationFile="$root/spark/conf/log4j2-cluster.properties" -cp "$dir/home/jars/*")
    "${java[@]}" org.apache.spark.deploy.master.Master --host "$host" --port "$port" --webui-port 0 >"$dir/master.log" 2>&1 &
    echo $! >"$dir/master.pid"
    "${java[@]}" org.apache.spark.deploy.worker.Worker --host "$host" --cores "$cores" --memory "$memory" --webui-port 0 \
      --work-dir "$dir/work" "spark://$host:$port" >"$dir/worker.log" 2>&1 &
    echo $! >"$dir/worker.pid"
    for _ in $(seq 1 120); do
      if grep -q "Successfully registered with master" "$dir/worker.log" 2>/dev/null; then echo "spark://$host:$port"; exit 0; fi
      if ! kill -0 "$(cat "$dir/master.pid")" 2>/dev/null || ! kill -0 "$(cat "$dir/worker.pid")" 2>/dev/null; then break; fi
      sleep 0.5
    done
    echo "local-cluster: the worker did not register with the master; see $dir/master.log and $dir/worker.log" >&2
    stop
    exit 1 ;;
  stop) stop ;;
  *) echo "usage: spark/local-cluster.sh start [--cores N] [--memory SIZE] [--port P] | stop" >&2; exit 2 ;;
esac
