package org.deltadit.eval;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.IntConsumer;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.deltadit.engine.Tensor;

/**
 * Reference statistics from a folder of images (PNG, JPEG, BMP): the Inception-v3 pool features of
 * every image, as [0, 1] RGB (grey images repeated), fitted by a Gaussian — what the published .npz
 * files hold for a dataset. Images of any size (the network resizes each to 299×299).
 */
public final class FidStatistics {
    private FidStatistics() {}

    /** The image files of a folder, sorted by name (not recursive). */
    public static List<Path> images(Path folder) {
        if (!Files.isDirectory(folder)) throw new IllegalArgumentException("--images: " + folder + ": no such folder");
        try (Stream<Path> s = Files.list(folder)) {
            List<Path> out = s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.(png|jpe?g|bmp)")).sorted().toList();
            if (out.size() < 2) throw new IllegalArgumentException("--images: " + folder + " holds " + out.size() + " images (.png, .jpg, .bmp); FID statistics need at least 2");
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("--images: " + folder + ": " + e.getMessage(), e);
        }
    }

    /** The statistics of {@code files}; {@code progress} hears of each image done. */
    public static Fid.Stats of(List<Path> files, InceptionV3 net, IntConsumer progress) {
        Fid.Moments m = new Fid.Moments(net.featureWidth());
        for (int i = 0; i < files.size(); i++) {
            m.add(net.run(read(files.get(i)), false).pool().select(0, 0).toFloatArray());
            if (progress != null) progress.accept(i + 1);
        }
        return m.stats();
    }

    /** One image as [1, 3, H, W] in [0, 1]. */
    static Tensor read(Path file) {
        BufferedImage im;
        try {
            im = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("--images: " + file + ": " + e.getMessage(), e);
        }
        if (im == null) throw new IllegalArgumentException("--images: " + file + ": not an image this JVM can read");
        int h = im.getHeight(), w = im.getWidth();
        float[] v = new float[3 * h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = im.getRGB(x, y);
                v[y * w + x] = ((rgb >> 16) & 0xff) / 255f;
                v[(h + y) * w + x] = ((rgb >> 8) & 0xff) / 255f;
                v[(2 * h + y) * w + x] = (rgb & 0xff) / 255f;
            }
        }
        return Tensor.of(v, 1, 3, h, w);
    }
}
