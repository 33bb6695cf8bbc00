#!/usr/bin/env bash
# Packs what tools/gpu/check.sh needs on a GPU machine that has no JDK into .gpu/payload.tar.xz (git-ignored):
# a jlink'd Java 25 runtime, the engine's jars, the test classes, JUnit's console launcher. The fixtures are
# not packed: they travel with the tracked tree. java.desktop is in (PNG writing) without its font, X11 and sound libraries.
# Run here; then carry .gpu to the GPU machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. .mvn/find-jdk25.sh
_dit_find_jdk25
./mvnw -q -o install -DskipTests >/dev/null
./mvnw -q -o test-compile -pl engine,weights,dit-model,sampler,cache,pipeline,cli >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib" "$stage/test"
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.desktop,java.logging,java.management,jdk.incubator.vector,jdk.unsupported \
  --exclude-files="**libfontmanager.so,**libawt_xawt.so,**libsplashscreen.so,**libjavajpeg.so,**liblcms.so,**libjsound.so,**libfreetype.so" \
  --strip-debug --no-header-files --no-man-pages --output "$stage/jre" 2>/dev/null
for m in engine weights dit-model sampler cache pipeline eval serve cli; do cp "$m"/target/deltadit-*-SNAPSHOT.jar "$stage/lib/"; done
rm -f "$stage"/lib/*-tests.jar
# the third-party jars the model commands use (picocli loads every command class: xchart's too; Jetty, PDF, the tokenizer and Spark stay behind)
./mvnw -q -o dependency:build-classpath -pl cli -Dmdep.outputFile="$stage/cp.txt" -Dmdep.includeScope=runtime >/dev/null
tr ':' '\n' <"$stage/cp.txt" | grep -E '/(picocli|jackson-core|xchart)-[0-9.]+\.jar$' \
  | xargs -I{} cp {} "$stage/lib/"
for m in engine weights dit-model sampler cache pipeline cli; do (cd "$m/target/test-classes" && "$JAVA_HOME/bin/jar" cf "$stage/test/$m-tests.jar" $(find . -name '*.class')); done
./mvnw -q -o dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:6.1.3 -DoutputDirectory="$stage/test" >/dev/null
mkdir -p .gpu
tar -C "$stage" -cf - jre lib test | xz -T2 -6 >.gpu/payload.tar.xz
echo "pack: .gpu/payload.tar.xz $(du -h .gpu/payload.tar.xz | cut -f1)"
