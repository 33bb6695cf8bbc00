package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** A tensor whose value a device holds ({@link Tensor#attach}): host code sees the device's values, and a host write wins. */
class DeviceCopyTest {

    /** A "device" that holds fixed values and counts what is asked of it. */
    static final class Fake implements Tensor.DeviceCopy {
        final float[] values;
        int downloads, releases;

        Fake(float... values) { this.values = values; }

        @Override
        public Object owner() { return this; }

        @Override
        public void download(MemorySegment host) {
            downloads++;
            MemorySegment.copy(values, 0, host, ValueLayout.JAVA_FLOAT, 0, values.length);
        }

        @Override
        public void release() { releases++; }
    }

    @Test
    void theHostSeesTheDevicesValuesAfterOneDownload() {
        Tensor t = Tensor.zeros(2, 3);
        Fake dev = new Fake(1, 2, 3, 4, 5, 6);
        t.attach(dev);
        assertSame(dev, t.deviceCopy());
        assertEquals(0, dev.downloads, "nothing comes down before the host reads");
        assertEquals(6f, t.get(1, 2));
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
        assertArrayEquals(new float[] {2, 5}, t.select(1, 1).toFloatArray(), "a view reads the same storage");
        assertEquals(1, dev.downloads, "one download, however often it is read");
        assertSame(dev, t.deviceCopy(), "reading keeps the device copy");
        assertEquals(0, dev.releases);
    }

    @Test
    void viewsShareTheDeviceCopyAndAViewReadsItFirst() {
        Tensor t = Tensor.zeros(2, 3);
        Tensor view = t.reshape(3, 2).transpose(0, 1);
        Fake dev = new Fake(1, 2, 3, 4, 5, 6);
        t.reshape(6).attach(dev);
        assertSame(dev, view.deviceCopy(), "a view made before the attach sees it");
        assertEquals(3f, view.get(0, 1));
        assertEquals(1, dev.downloads);
    }

    @Test
    void aHostWriteDropsTheDeviceCopy() {
        Tensor t = Tensor.zeros(4);
        Fake dev = new Fake(1, 2, 3, 4);
        t.attach(dev);
        t.set(9f, 0);
        assertNull(t.deviceCopy(), "the host now holds the only current value");
        assertEquals(1, dev.releases, "and the device memory is given back");
        assertArrayEquals(new float[] {9, 2, 3, 4}, t.toFloatArray(), "the write lands on the device's values, not on stale host bytes");

        Tensor u = Tensor.zeros(2);
        Fake dev2 = new Fake(7, 8);
        u.attach(dev2);
        u.segment(); // the caller may write through it
        assertNull(u.deviceCopy());
        assertEquals(1, dev2.downloads);
        assertEquals(1, dev2.releases);

        Tensor v = Tensor.zeros(2);
        Fake dev3 = new Fake(7, 8);
        v.attach(dev3);
        Tensor.zeros(2).copyFrom(v); // reading v as a copy's source keeps v's device copy
        assertSame(dev3, v.deviceCopy());
        v.slice(0, 1, 2).copyFrom(Tensor.of(new float[] {5}, 1)); // writing part of v: the rest comes down first
        assertNull(v.deviceCopy());
        assertArrayEquals(new float[] {7, 5}, v.toFloatArray());
    }

    @Test
    void aNewCopyReplacesTheOldOne() {
        Tensor t = Tensor.zeros(2);
        Fake a = new Fake(1, 2), b = new Fake(3, 4);
        t.attach(a);
        t.attach(b);
        assertEquals(1, a.releases);
        assertArrayEquals(new float[] {3, 4}, t.toFloatArray());
        assertEquals(0, a.downloads);
    }

    @Test
    void onlyAWholeContiguousStorageTakesACopy() {
        Tensor t = Tensor.zeros(2, 3);
        assertThrows(IllegalArgumentException.class, () -> t.slice(0, 0, 1).attach(new Fake(1, 2, 3)));
        assertThrows(IllegalArgumentException.class, () -> t.transpose(0, 1).attach(new Fake(1, 2, 3, 4, 5, 6)));
        assertThrows(IllegalArgumentException.class, () -> t.attach(null));
        assertNull(t.deviceCopy());
    }
}
