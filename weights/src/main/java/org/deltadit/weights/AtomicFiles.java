package org.deltadit.weights;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Every file the project writes goes through here: written under a temporary name beside the target
 * and renamed when complete, so a reader never sees half a file. The temporary file is removed when
 * the write fails, and — through one shutdown hook — when the JVM is stopped by Ctrl-C or SIGTERM
 * mid-write. Files get the usual mode of user files (rw-r--r--), not createTempFile's private 0600.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** What a write does with the stream of the temporary file. */
    @FunctionalInterface
    public interface Body {
        void write(OutputStream out) throws IOException;
    }

    private static final Set<Path> PENDING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : PENDING) deleteQuietly(p);
        }, "dit-temp-cleanup"));
    }

    /** Writes {@code file} atomically; a failure is an UncheckedIOException "file: cannot write (reason)". */
    public static void write(Path file, Body body) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            PENDING.add(tmp);
            try (OutputStream out = Files.newOutputStream(tmp)) {
                body.write(out);
            }
            userMode(tmp);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw failure(file, e);
        } finally {
            if (tmp != null) {
                deleteQuietly(tmp);
                PENDING.remove(tmp);
            }
        }
    }

    /** Writes {@code text} as UTF-8, atomically. */
    public static void writeString(Path file, String text) {
        write(file, out -> out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /**
     * A folder of outputs that appears complete or not at all: files go to a hidden temporary folder
     * beside {@code target}, and {@link #commit} moves them into {@code target} (created if needed). An
     * interrupted or failed run leaves nothing but what {@code target} held before.
     */
    public static final class Folder implements AutoCloseable {
        private final Path target, tmp;

        public Folder(Path target) {
            this.target = target;
            Path parent = target.toAbsolutePath().getParent();
            try {
                Files.createDirectories(parent);
                this.tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".");
            } catch (IOException e) {
                throw failure(target, e);
            }
            PENDING.add(tmp);
        }

        /** Where to write file {@code name} of the folder. */
        public Path file(String name) { return tmp.resolve(name); }

        /** Moves every file into the target folder. */
        public void commit() {
            try {
                Files.createDirectories(target);
                try (Stream<Path> files = Files.list(tmp)) {
                    for (Path f : files.sorted().toList()) {
                        userMode(f);
                        Files.move(f, target.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    }
                }
            } catch (IOException e) {
                throw failure(target, e);
            }
        }

        /** Removes the temporary folder (with whatever was not committed). */
        @Override
        public void close() {
            deleteQuietly(tmp);
            PENDING.remove(tmp);
        }
    }

    /**
     * Checks, before any long work, that {@code file} can be written: its folder exists or can be made,
     * and is a writable folder; {@code what} names the option in the message.
     */
    public static void checkWritable(Path file, String what) {
        if (file.toString().isEmpty()) throw new IllegalArgumentException(what + ": an empty path");
        Path dir = file.toAbsolutePath().getParent();
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) throw new IllegalArgumentException(what + ": " + file + ": no folder to write it in");
        if (!Files.isDirectory(existing)) throw new IllegalArgumentException(what + ": " + file + ": " + existing + " is a file, not a folder");
        if (!Files.isWritable(existing)) throw new IllegalArgumentException(what + ": " + file + ": cannot write in " + existing + " (permission denied)");
        if (Files.isDirectory(file)) throw new IllegalArgumentException(what + ": " + file + " is a folder");
    }

    /** The reason of an I/O failure in words (Java's messages for these are just the path). */
    public static String reason(IOException e) {
        String why = switch (e) {
            case AccessDeniedException x -> "permission denied";
            case NoSuchFileException x -> "no such file or folder";
            case NotDirectoryException x -> "not a folder";
            case DirectoryNotEmptyException x -> "a folder that is not empty is in the way";
            case FileAlreadyExistsException x -> "a file is in the way: " + x.getFile();
            case FileSystemException x when x.getReason() != null -> x.getReason();
            default -> e.getMessage();
        };
        return why == null ? e.getClass().getSimpleName() : why;
    }

    private static UncheckedIOException failure(Path file, IOException e) {
        return new UncheckedIOException(file + ": cannot write (" + reason(e) + ")", e);
    }

    private static void userMode(Path p) {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: its defaults apply
        }
    }

    private static void deleteQuietly(Path p) {
        try (Stream<Path> all = Files.walk(p)) {
            for (Path q : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException | UncheckedIOException e) {
            // best effort: the failure that brought us here is the one to report
        }
    }
}
