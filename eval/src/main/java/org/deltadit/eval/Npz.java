package org.deltadit.eval;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.deltadit.weights.AtomicFiles;

/**
 * FID statistics in NumPy's .npz form — the form published for COCO and ImageNet evaluations: a zip
 * (stored or deflated) of {@code mu.npy} [d] and {@code sigma.npy} [d, d], little-endian float64 or
 * float32, C order (NPY format 1.0–3.0). Ours are written the same way, float64.
 */
public final class Npz {
    private Npz() {}

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([<|>]?)([fi])(\\d)'"), ORDER = Pattern.compile("'fortran_order':\\s*(True|False)"),
            SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    /** Reads mu and sigma; the message names the file and what is wrong. */
    public static Fid.Stats readStats(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--fid-stats: " + file + ": no such file");
        try (ZipFile zip = new ZipFile(file.toFile())) {
            double[] mu = array(zip, file, "mu", 1);
            int d = mu.length;
            double[] flat = array(zip, file, "sigma", 2);
            if (flat.length != (long) d * d) throw new IllegalArgumentException("--fid-stats: " + file + ": sigma has " + flat.length + " values for a " + d + "-wide mu");
            double[][] sigma = new double[d][];
            for (int i = 0; i < d; i++) sigma[i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
            return new Fid.Stats(mu, sigma, 0);
        } catch (IOException e) {
            throw new IllegalArgumentException("--fid-stats: " + file + ": not a .npz file (" + e.getMessage() + ")");
        }
    }

    private static double[] array(ZipFile zip, Path file, String name, int rank) throws IOException {
        ZipEntry e = zip.getEntry(name + ".npy");
        if (e == null) throw new IllegalArgumentException("--fid-stats: " + file + ": no '" + name + "' array (FID statistics hold mu and sigma)");
        byte[] b;
        try (InputStream in = zip.getInputStream(e)) {
            b = in.readAllBytes();
        }
        if (b.length < 10 || (b[0] & 0xff) != 0x93 || !new String(b, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY")) {
            throw new IllegalArgumentException("--fid-stats: " + file + ": " + name + ".npy is not a NumPy array");
        }
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int major = b[6], headerLen = major == 1 ? Short.toUnsignedInt(bb.getShort(8)) : bb.getInt(8), start = (major == 1 ? 10 : 12) + headerLen;
        String header = new String(b, major == 1 ? 10 : 12, headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), o = ORDER.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) throw new IllegalArgumentException("--fid-stats: " + file + ": " + name + ".npy: unreadable header " + header.strip());
        int size = Integer.parseInt(d.group(3));
        if (d.group(1).equals(">") || !d.group(2).equals("f") || (size != 4 && size != 8) || o.group(1).equals("True")) {
            throw new IllegalArgumentException("--fid-stats: " + file + ": " + name + " is " + d.group(0) + ", " + o.group(0) + " (needs little-endian float32 or float64, C order)");
        }
        long[] shape = Arrays.stream(s.group(1).split(",")).map(String::strip).filter(t -> !t.isEmpty()).mapToLong(Long::parseLong).toArray();
        if (shape.length != rank) throw new IllegalArgumentException("--fid-stats: " + file + ": " + name + " has shape " + Arrays.toString(shape) + " (needs rank " + rank + ")");
        long n = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
        if (start + n * size > b.length || n > Integer.MAX_VALUE) throw new IllegalArgumentException("--fid-stats: " + file + ": " + name + ".npy is cut short");
        double[] out = new double[(int) n];
        bb.position(start);
        for (int i = 0; i < n; i++) out[i] = size == 8 ? bb.getDouble() : bb.getFloat();
        return out;
    }

    /** Writes mu and sigma as float64 arrays (stored, like numpy.savez). */
    public static void writeStats(Path file, Fid.Stats stats) {
        int d = stats.mu().length;
        double[] flat = new double[d * d];
        for (int i = 0; i < d; i++) System.arraycopy(stats.sigma()[i], 0, flat, i * d, d);
        AtomicFiles.write(file, out -> {
            try (ZipOutputStream zip = new ZipOutputStream(out)) {
                entry(zip, "mu", stats.mu(), "(" + d + ",)");
                entry(zip, "sigma", flat, "(" + d + ", " + d + ")");
            }
        });
    }

    private static void entry(ZipOutputStream zip, String name, double[] v, String shape) throws IOException {
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
        int pad = 64 - (10 + dict.length() + 1) % 64; // the header ends in a newline at a multiple of 64 bytes
        String header = dict + " ".repeat(pad % 64) + "\n";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(0x93);
        bytes.write("NUMPY".getBytes(StandardCharsets.ISO_8859_1));
        bytes.write(1);
        bytes.write(0);
        bytes.write(header.length() & 0xff);
        bytes.write(header.length() >> 8);
        bytes.write(header.getBytes(StandardCharsets.ISO_8859_1));
        ByteBuffer data = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) data.putDouble(x);
        bytes.write(data.array());
        zip.putNextEntry(new ZipEntry(name + ".npy"));
        zip.write(bytes.toByteArray());
        zip.closeEntry();
    }

}
