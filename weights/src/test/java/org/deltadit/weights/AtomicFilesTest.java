package org.deltadit.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic files and folders: complete or absent, user mode, reasons in messages, cleanup on SIGTERM. */
class AtomicFilesTest {
    @TempDir Path dir;

    List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aWrittenFileHasTheUsualModeAndNoTemporaryIsLeft() throws IOException {
        Path f = dir.resolve("a.bin");
        AtomicFiles.write(f, out -> out.write(new byte[] {1, 2, 3}));
        assertEquals(3, Files.size(f));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), "not createTempFile's 0600");
        assertEquals(List.of("a.bin"), names());
    }

    @Test
    void aFailingBodyLeavesNothingAndTheReasonIsSaid() throws IOException {
        Path f = dir.resolve("b.bin");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(1);
            throw new IOException("No space left on device");
        }));
        assertTrue(e.getMessage().endsWith("cannot write (No space left on device)"), e.getMessage());
        assertEquals(List.of(), names());
        Path blocker = Files.writeString(dir.resolve("blocker"), "x");
        UncheckedIOException under = assertThrows(UncheckedIOException.class, () -> AtomicFiles.writeString(blocker.resolve("c.txt"), "y"));
        assertTrue(under.getMessage().contains("a file is in the way"), under.getMessage());
    }

    @Test
    void aFolderAppearsWholeOrNotAtAll() throws IOException {
        Path target = dir.resolve("imgs");
        try (AtomicFiles.Folder f = new AtomicFiles.Folder(target)) {
            AtomicFiles.writeString(f.file("00000.png"), "a");
            AtomicFiles.writeString(f.file("00001.png"), "b");
            // no commit: a failure after two of sixteen images
        }
        assertEquals(List.of(), names(), "neither the target nor the temporary folder");
        try (AtomicFiles.Folder f = new AtomicFiles.Folder(target)) {
            AtomicFiles.writeString(f.file("00000.png"), "a");
            f.commit();
        }
        assertEquals(List.of("imgs"), names());
        assertEquals("a", Files.readString(target.resolve("00000.png")));
    }

    @Test
    void checkWritableNamesTheProblemBeforeAnyWork() throws IOException {
        Path file = Files.writeString(dir.resolve("f"), "x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(file.resolve("x.png"), "--out")).getMessage().contains("is a file, not a folder"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(dir, "--out")).getMessage().contains("is a folder"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AtomicFiles.checkWritable(Path.of(""), "--out")).getMessage().contains("empty path"));
        AtomicFiles.checkWritable(dir.resolve("new/sub/x.png"), "--out"); // folders that do not exist yet are made
        assertFalse(Files.exists(dir.resolve("new")), "checking creates nothing");
    }

    /** Child JVM: starts an atomic write whose body never finishes. */
    public static void main(String[] a) {
        AtomicFiles.write(Path.of(a[0]), out -> {
            out.write(1);
            out.flush();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @Test
    void sigtermMidWriteRemovesTheTemporaryFile() throws Exception {
        Path target = dir.resolve("slow.bin");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                AtomicFilesTest.class.getName(), target.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (names().stream().noneMatch(n -> n.endsWith(".tmp")) && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(names().stream().anyMatch(n -> n.endsWith(".tmp")), "the child started writing");
        p.destroy(); // SIGTERM, as a Ctrl-C or a job scheduler sends
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(List.of(), names(), "no partial file after SIGTERM");
    }
}
