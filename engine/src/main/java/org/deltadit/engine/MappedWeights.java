package org.deltadit.engine;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The checkpoint files mapped in each arena, as the loaders record them. A backend that keeps its own copy of
 * constant weights (the cpu backend's packed panels) sizes its copies to what is still to come, instead of
 * guessing and leaving the unused tail of a large buffer resident (up to a quarter of a gigabyte, zeroed by the
 * JVM); and it can name a weight by the file it came from ({@link #source}), to find its packed copy on disk.
 */
public final class MappedWeights {
    private static final Map<MemorySegment.Scope, List<Mapping>> MAPPINGS = Collections.synchronizedMap(new WeakHashMap<>());

    private MappedWeights() {}

    /** A mapped file: where its bytes are, and what identifies it on disk (real path, size, modification time; path null where unknown). */
    private record Mapping(long address, long bytes, String path, long fileBytes, long modifiedNanos) {}

    /** Where bytes of a mapped checkpoint came from: the file as it was when mapped, and the offset in it. */
    public record Source(String path, long fileBytes, long modifiedNanos, long offset) {}

    /** {@code file} was mapped whole as {@code seg}. */
    public static void add(MemorySegment seg, Path file) {
        Mapping m;
        try {
            m = new Mapping(seg.address(), seg.byteSize(), file.toRealPath().toString(), Files.size(file), Files.getLastModifiedTime(file).to(TimeUnit.NANOSECONDS));
        } catch (IOException e) {
            // the file was just mapped, so this is a race with its removal: its weights are then simply not named
            m = new Mapping(seg.address(), seg.byteSize(), null, 0, 0);
        }
        MAPPINGS.computeIfAbsent(seg.scope(), s -> Collections.synchronizedList(new ArrayList<>())).add(m);
    }

    /** The bytes mapped in {@code scope}, 0 where none were recorded. */
    public static long of(MemorySegment.Scope scope) {
        List<Mapping> maps = MAPPINGS.get(scope);
        if (maps == null) return 0;
        synchronized (maps) {
            return maps.stream().mapToLong(Mapping::bytes).sum();
        }
    }

    /** The file and offset {@code seg} (a slice of a recorded mapping) starts at; null where it is not one. */
    public static Source source(MemorySegment seg) {
        if (!seg.isNative()) return null;
        List<Mapping> maps = MAPPINGS.get(seg.scope());
        if (maps == null) return null;
        synchronized (maps) {
            for (Mapping m : maps) {
                long at = seg.address() - m.address();
                if (m.path() != null && at >= 0 && at + seg.byteSize() <= m.bytes()) return new Source(m.path(), m.fileBytes(), m.modifiedNanos(), at);
            }
        }
        return null;
    }
}
