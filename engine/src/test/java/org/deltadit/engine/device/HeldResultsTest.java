package org.deltadit.engine.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Results held on a device outlive nothing: when device memory runs out, results whose tensors are gone are
 * collected and their memory reused. A device in host memory with a small capacity, running the scale kernel.
 */
class HeldResultsTest {

    /** Host memory posing as a device of {@code capacity} bytes; only the "unary" kernel's scale runs. */
    static final class SmallDevice extends DeviceBackend {
        final long capacity;
        long used;
        long next = 1;
        final Map<Long, MemorySegment> mem = new HashMap<>();

        SmallDevice(long capacity) { this.capacity = capacity; }

        @Override
        protected Buf allocate(long bytes) {
            if (used + bytes > capacity) throw new IllegalStateException("out of device memory (" + used + " of " + capacity + " bytes in use)");
            used += bytes;
            mem.put(next, MemorySegment.ofArray(new float[(int) (bytes + 3) / 4]));
            return new Buf(next++, bytes);
        }

        @Override
        protected void write(Buf dst, MemorySegment src, long bytes) { MemorySegment.copy(src, 0, mem.get(dst.handle()), 0, bytes); }

        @Override
        protected void read(Buf src, MemorySegment dst, long bytes) { MemorySegment.copy(mem.get(src.handle()), 0, dst, 0, bytes); }

        @Override
        protected void free(Buf b) {
            if (mem.remove(b.handle()) != null) used -= b.bytes();
        }

        @Override
        protected void launch(String kernel, long[] global, long[] local, Object... args) {
            if (!kernel.equals("unary") || (int) args[3] != 3) throw new UnsupportedOperationException(kernel);
            MemorySegment x = mem.get(((Buf) args[0]).handle()), out = mem.get(((Buf) args[1]).handle());
            for (int i = 0; i < (int) args[2]; i++) out.setAtIndex(ValueLayout.JAVA_FLOAT, i, x.getAtIndex(ValueLayout.JAVA_FLOAT, i) * (float) args[4]);
        }

        @Override
        protected void synchronize() {}

        @Override
        protected String prefix() { return "small device"; }

        @Override
        protected void release() {}

        @Override
        public String name() { return "small"; }

        @Override
        public String describe() { return "a small device in host memory"; }
    }

    @Test
    void resultsNobodyHoldsAreCollectedWhenTheDeviceIsFull() {
        SmallDevice dev = new SmallDevice(16 * 4096); // room for 16 results of 1024 floats, or 8 ops' in + out
        float[] x = new float[1024];
        for (int i = 0; i < x.length; i++) x[i] = i;
        Tensor kept = dev.scale(Tensor.of(x, 1024), 3f); // its input's buffer stays pooled for the next ops
        java.util.List<Tensor> some = new java.util.ArrayList<>();
        for (int i = 0; i < 14; i++) some.add(dev.scale(Tensor.of(x, 1024), 2f));
        assertEquals(16 * 4096, dev.used, "full: one input buffer and 15 results");
        some.clear(); // 14 results nobody references, which only a collection finds
        Tensor next = dev.scale(Tensor.of(x, 1024), 2f);
        assertEquals(1, dev.reclaims(), "the device was full and was reclaimed");
        for (int i = 0; i < 100; i++) dev.scale(Tensor.of(x, 1024), 2f); // far more than fit, dropped as they come
        assertEquals(2f * 5, next.get(5));
        assertTrue(kept.deviceCopy() != null, "a result still referenced keeps its memory");
        float[] want = new float[1024];
        for (int i = 0; i < want.length; i++) want[i] = 3f * i;
        Tensor unread = dev.scale(Tensor.of(x, 1024), 4f);
        assertArrayEquals(want, kept.toFloatArray());
        dev.close();
        assertEquals(0, dev.used, "closing frees everything, held results included");
        for (int i = 0; i < want.length; i++) want[i] = 4f * i;
        assertArrayEquals(want, unread.toFloatArray(), "a result not read before the backend closed came down as it closed");
    }

    @Test
    void whatIsInUseStaysAndAFullDeviceSaysSo() {
        SmallDevice dev = new SmallDevice(4 * 4096);
        java.util.List<Tensor> all = new java.util.ArrayList<>();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            for (int i = 0; i < 10; i++) all.add(dev.scale(Tensor.of(new float[1024], 1024), 2f));
        });
        assertTrue(e.getMessage().contains("out of device memory"), e.getMessage());
        assertEquals(3, all.size(), "three results fit beside one op's input and output... then the fourth op's output does not");
        for (Tensor t : all) assertTrue(t.deviceCopy() != null, "none of the results in use was given up");
    }
}
