# Sourced by ./mvnw and ./dit: make JAVA_HOME point at a JDK 25 or newer.
# Java 17 is often the default `java`; the engine needs 25 (Vector API, final FFM).
# Order: a JAVA_HOME that already is 25+, `java` on PATH, then the usual install folders.
_dit_java_major() { # prints the feature version of the JDK at $1, or nothing
  [ -x "$1/bin/java" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
_dit_jdk_ok() { local v; v=$(_dit_java_major "$1"); [ -n "$v" ] && [ "$v" -ge 25 ] && [ -x "$1/bin/javac" ]; }
_dit_find_jdk25() {
  if [ -n "${JAVA_HOME:-}" ] && _dit_jdk_ok "$JAVA_HOME"; then return 0; fi
  local j cand
  if j=$(command -v java 2>/dev/null); then
    cand=$(dirname "$(dirname "$(readlink -f "$j")")")
    if _dit_jdk_ok "$cand"; then export JAVA_HOME="$cand"; return 0; fi
  fi
  for cand in /usr/lib/jvm/*25* /usr/lib/jvm/*2[6-9]* /usr/lib/jvm/* /opt/java/* /opt/jdk* \
              "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    if _dit_jdk_ok "$cand"; then export JAVA_HOME="$cand"; return 0; fi
  done
  echo "error: no JDK 25 found (JAVA_HOME=${JAVA_HOME:-unset}); install one or set JAVA_HOME to it" >&2
  return 1
}
