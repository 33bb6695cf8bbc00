package org.deltadit.pipeline;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.deltadit.engine.Tensor;

/**
 * An 8-bit image: {@code channels} (1 grey, 3 RGB) interleaved per pixel, rows top to bottom. Made
 * from model images with values in [−1, 1] as round(clamp((v + 1)/2, 0, 1)·255).
 */
public record Image(int width, int height, int channels, byte[] pixels) {
    public Image {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("image: " + channels + " channels (1 or 3)");
        if (width < 1 || height < 1 || pixels.length != width * height * channels) {
            throw new IllegalArgumentException("image: " + pixels.length + " bytes for " + width + "×" + height + "×" + channels);
        }
    }

    /** Image {@code index} of a batch [B, C, H, W] with values in [−1, 1]. */
    public static Image of(Tensor images, int index) {
        int c = images.dim(1), h = images.dim(2), w = images.dim(3);
        if (c != 1 && c != 3) throw new IllegalArgumentException("images: " + c + " channels cannot be written as 8-bit images (1 or 3)");
        float[] v = images.slice(0, index, index + 1).toFloatArray();
        byte[] p = new byte[w * h * c];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int k = 0; k < c; k++) p[(y * w + x) * c + k] = (byte) byteOf(v[k * h * w + y * w + x]);
            }
        }
        return new Image(w, h, c, p);
    }

    static int byteOf(float v) { return (int) Math.round(Math.min(1.0, Math.max(0.0, (v + 1) / 2.0)) * 255); }

    /** The value of channel k at (x, y), 0..255. */
    public int sample(int x, int y, int k) { return pixels[(y * width + x) * channels + k] & 0xff; }

    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (channels == 1) img.getRaster().setSample(x, y, 0, sample(x, y, 0));
                else img.setRGB(x, y, (sample(x, y, 0) << 16) | (sample(x, y, 1) << 8) | sample(x, y, 2));
            }
        }
        return img;
    }

    /** All images (same size and channels) in one near-square grid, row by row. */
    public static Image grid(List<Image> images) {
        Image first = images.get(0);
        int n = images.size(), w = first.width, h = first.height, c = first.channels;
        int cols = (int) Math.ceil(Math.sqrt(n)), rows = (n + cols - 1) / cols;
        byte[] p = new byte[cols * w * rows * h * c];
        for (int i = 0; i < n; i++) {
            Image im = images.get(i);
            if (im.width != w || im.height != h || im.channels != c) throw new IllegalArgumentException("grid: images of different sizes");
            int x0 = (i % cols) * w, y0 = (i / cols) * h;
            for (int y = 0; y < h; y++) System.arraycopy(im.pixels, y * w * c, p, ((y0 + y) * cols * w + x0) * c, w * c);
        }
        return new Image(cols * w, rows * h, c, p);
    }

    /** PNG bytes. */
    public byte[] png() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(toBufferedImage(), "png", out)) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Writes a PNG to a temporary name beside {@code file} and renames it, so no partial PNG is left behind. */
    public void writePng(Path file) {
        byte[] png = png();
        org.deltadit.weights.AtomicFiles.write(file, out -> out.write(png));
    }
}
