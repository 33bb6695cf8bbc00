package org.deltadit.weights;

import static org.deltadit.weights.Fixtures.path;
import static org.deltadit.weights.Fixtures.sameTensors;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints over 4 GB use ZIP64: saturated 32-bit sizes and offsets, the real values in extra
 * fields, and a ZIP64 end record. Neither Java's nor Python's zip writer does that for a small
 * file, so this test rewrites views.pt entry by entry with every ZIP64 field in use.
 */
class Zip64Test {
    @TempDir Path dir;

    static byte[] le(int bytes, long v) {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes == 2) b.putShort((short) v);
        else if (bytes == 4) b.putInt((int) v);
        else b.putLong(v);
        return b.array();
    }

    @Test
    void zip64ArchiveLoadsLikeTheOriginal() throws IOException {
        List<String> names = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        try (ZipFile z = new ZipFile(path("views.pt").toFile())) {
            for (ZipEntry e : Collections.list(z.entries())) {
                names.add(e.getName());
                data.add(z.getInputStream(e).readAllBytes());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            byte[] n = names.get(i).getBytes(StandardCharsets.UTF_8), d = data.get(i);
            CRC32 crc = new CRC32();
            crc.update(d);
            offsets.add((long) out.size());
            out.writeBytes(le(4, 0x04034b50)); out.writeBytes(le(2, 45)); out.writeBytes(le(2, 0)); out.writeBytes(le(2, 0));
            out.writeBytes(le(4, 0)); out.writeBytes(le(4, crc.getValue())); out.writeBytes(le(4, 0xffffffffL)); out.writeBytes(le(4, 0xffffffffL));
            out.writeBytes(le(2, n.length)); out.writeBytes(le(2, 20)); out.writeBytes(n);
            out.writeBytes(le(2, 1)); out.writeBytes(le(2, 16)); out.writeBytes(le(8, d.length)); out.writeBytes(le(8, d.length));
            out.writeBytes(d);
        }
        long cdStart = out.size();
        for (int i = 0; i < names.size(); i++) {
            byte[] n = names.get(i).getBytes(StandardCharsets.UTF_8), d = data.get(i);
            CRC32 crc = new CRC32();
            crc.update(d);
            out.writeBytes(le(4, 0x02014b50)); out.writeBytes(le(2, 45)); out.writeBytes(le(2, 45)); out.writeBytes(le(2, 0)); out.writeBytes(le(2, 0));
            out.writeBytes(le(4, 0)); out.writeBytes(le(4, crc.getValue())); out.writeBytes(le(4, 0xffffffffL)); out.writeBytes(le(4, 0xffffffffL));
            out.writeBytes(le(2, n.length)); out.writeBytes(le(2, 28)); out.writeBytes(le(2, 0)); out.writeBytes(le(2, 0)); out.writeBytes(le(2, 0));
            out.writeBytes(le(4, 0)); out.writeBytes(le(4, 0xffffffffL)); out.writeBytes(n);
            out.writeBytes(le(2, 1)); out.writeBytes(le(2, 24)); out.writeBytes(le(8, d.length)); out.writeBytes(le(8, d.length)); out.writeBytes(le(8, offsets.get(i)));
        }
        long cdSize = out.size() - cdStart, z64 = out.size();
        out.writeBytes(le(4, 0x06064b50)); out.writeBytes(le(8, 44)); out.writeBytes(le(2, 45)); out.writeBytes(le(2, 45)); out.writeBytes(le(4, 0)); out.writeBytes(le(4, 0));
        out.writeBytes(le(8, names.size())); out.writeBytes(le(8, names.size())); out.writeBytes(le(8, cdSize)); out.writeBytes(le(8, cdStart));
        out.writeBytes(le(4, 0x07064b50)); out.writeBytes(le(4, 0)); out.writeBytes(le(8, z64)); out.writeBytes(le(4, 1));
        out.writeBytes(le(4, 0x06054b50)); out.writeBytes(le(2, 0)); out.writeBytes(le(2, 0)); out.writeBytes(le(2, 0xffff)); out.writeBytes(le(2, 0xffff));
        out.writeBytes(le(4, 0xffffffffL)); out.writeBytes(le(4, 0xffffffffL)); out.writeBytes(le(2, 0));
        Path f = dir.resolve("zip64.pt");
        Files.write(f, out.toByteArray());
        try (StateDict want = Safetensors.open(path("views.safetensors")); StateDict got = TorchCheckpoint.open(f, null)) {
            sameTensors(want, got);
        }
    }
}
