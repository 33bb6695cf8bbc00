package org.deltadit.cache;

/**
 * Least-squares polynomial fit, for TeaCache's rescaling: the coefficients, highest degree first (as
 * {@link CachePolicy.TeaCache#rescale} evaluates them), of the polynomial of degree at most {@code degree}
 * closest to the points (x, y). x is scaled to [−1, 1] before the normal equations, then the coefficients
 * are mapped back, so degree 4 over relative changes of ~0.01–0.5 stays well conditioned.
 */
public final class Polyfit {
    private Polyfit() {}

    /** The fit; fewer distinct x than coefficients lowers the degree to what the points determine. */
    public static double[] fit(double[] x, double[] y, int degree) {
        if (x.length != y.length || x.length == 0) throw new IllegalArgumentException("polyfit: " + x.length + " x for " + y.length + " y");
        if (degree < 0 || degree > 8) throw new IllegalArgumentException("polyfit: degree " + degree + " (0..8)");
        long distinct = java.util.Arrays.stream(x).distinct().count();
        int deg = (int) Math.min(degree, distinct - 1);
        double lo = java.util.Arrays.stream(x).min().getAsDouble(), hi = java.util.Arrays.stream(x).max().getAsDouble();
        double mid = (lo + hi) / 2, half = hi > lo ? (hi - lo) / 2 : 1;
        int n = deg + 1;
        double[][] a = new double[n][n + 1];
        for (int k = 0; k < x.length; k++) {
            double u = (x[k] - mid) / half;
            double[] p = new double[n];
            p[0] = 1;
            for (int i = 1; i < n; i++) p[i] = p[i - 1] * u;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) a[i][j] += p[i] * p[j];
                a[i][n] += p[i] * y[k];
            }
        }
        double[] c = solve(a); // c[i]: coefficient of u^i
        // back to x: sum c_i ((x − mid)/half)^i, expanded into powers of x
        double[] inX = new double[n];
        for (int i = 0; i < n; i++) {
            // (x − mid)^i / half^i = sum_j binom(i, j) x^j (−mid)^(i−j) / half^i
            for (int j = 0; j <= i; j++) inX[j] += c[i] * binomial(i, j) * Math.pow(-mid, i - j) / Math.pow(half, i);
        }
        double[] out = new double[n];
        for (int j = 0; j < n; j++) out[n - 1 - j] = inX[j];
        for (double v : out) if (!Double.isFinite(v)) throw new IllegalStateException("polyfit: the points do not determine a polynomial");
        return out;
    }

    private static double binomial(int n, int k) {
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    /** Gaussian elimination with partial pivoting on the augmented [n, n + 1] system. */
    private static double[] solve(double[][] a) {
        int n = a.length;
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
            double[] t = a[col];
            a[col] = a[pivot];
            a[pivot] = t;
            if (Math.abs(a[col][col]) < 1e-300) throw new IllegalStateException("polyfit: singular normal equations");
            for (int r = col + 1; r < n; r++) {
                double f = a[r][col] / a[col][col];
                for (int k = col; k <= n; k++) a[r][k] -= f * a[col][k];
            }
        }
        double[] x = new double[n];
        for (int r = n - 1; r >= 0; r--) {
            double s = a[r][n];
            for (int k = r + 1; k < n; k++) s -= a[r][k] * x[k];
            x[r] = s / a[r][r];
        }
        return x;
    }
}
