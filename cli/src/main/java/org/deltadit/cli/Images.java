package org.deltadit.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.imageio.ImageIO;
import org.deltadit.engine.Tensor;

/**
 * Images [B, C, H, W] with values in [−1, 1] (decoded latents or pixel-space samples) to 8-bit PNG:
 * round(clamp((v + 1)/2, 0, 1)·255), one channel as grey, three as RGB. Files are written to a
 * temporary name in the target folder and renamed, so no partial PNG is ever left behind.
 */
final class Images {
    private Images() {}

    static BufferedImage toImage(Tensor images, int index) {
        int c = images.dim(1), h = images.dim(2), w = images.dim(3);
        if (c != 1 && c != 3) throw new IllegalArgumentException("images: " + c + " channels cannot be written as PNG (1 or 3)");
        float[] v = images.slice(0, index, index + 1).toFloatArray();
        BufferedImage img = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = byteOf(v[y * w + x]);
                if (c == 1) {
                    img.getRaster().setSample(x, y, 0, r);
                } else {
                    int g = byteOf(v[h * w + y * w + x]), b = byteOf(v[2 * h * w + y * w + x]);
                    img.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
        }
        return img;
    }

    static int byteOf(float v) { return (int) Math.round(Math.min(1.0, Math.max(0.0, (v + 1) / 2.0)) * 255); }

    /** All images in one near-square grid. */
    static BufferedImage grid(Tensor images) {
        int n = images.dim(0), h = images.dim(2), w = images.dim(3);
        int cols = (int) Math.ceil(Math.sqrt(n)), rows = (n + cols - 1) / cols;
        BufferedImage first = toImage(images, 0);
        BufferedImage g = new BufferedImage(cols * w, rows * h, first.getType());
        for (int i = 0; i < n; i++) g.getGraphics().drawImage(i == 0 ? first : toImage(images, i), (i % cols) * w, (i / cols) * h, null);
        return g;
    }

    static void writePng(BufferedImage img, Path file) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            if (!ImageIO.write(img, "png", tmp.toFile())) throw new IOException("no PNG writer");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                if (tmp != null) Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // report the write failure, not the cleanup
            }
            throw new UncheckedIOException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }
}
