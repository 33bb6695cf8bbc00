package org.deltadit.eval;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017):
 * ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½), with Tr((Σ₁Σ₂)^½) = Σ √λ(A Σ₂ A), A = Σ₁^½ — both square
 * roots of symmetric positive semi-definite matrices, through EJML's symmetric eigendecomposition.
 */
public final class Fid {
    private Fid() {}

    /** Mean [d] and covariance [d, d] (unbiased, as numpy.cov) of n feature rows. */
    public record Stats(double[] mu, double[][] sigma, int count) {}

    public static Stats stats(float[][] features) {
        if (features.length < 2) throw new IllegalArgumentException("FID: at least 2 samples are needed, got " + features.length);
        Moments m = new Moments(features[0].length);
        for (float[] f : features) m.add(f);
        return m.stats();
    }

    /**
     * The sums a feature set's Gaussian is fitted from — n, Σx, Σxxᵀ — which merge by adding, so that
     * parts of a set (a cluster's partitions) are summed where they are made and reduced once.
     */
    public static final class Moments implements java.io.Serializable {
        private int n;
        private final int d;
        private final ExactSums sum, outer; // outer: the upper triangle, packed row by row (d(d+1)/2 sums)

        public Moments(int d) {
            this.d = d;
            sum = new ExactSums(d);
            outer = new ExactSums(d * (d + 1) / 2);
        }

        /** Where (i, j ≥ i) lies in the packed triangle. */
        private int at(int i, int j) { return i * d - i * (i - 1) / 2 + (j - i); }

        public int count() { return n; }

        public void add(float[] f) {
            if (f.length != d) throw new IllegalArgumentException("FID: a feature row of " + f.length + " values, expected " + d);
            for (int i = 0; i < d; i++) {
                sum.add(i, f[i]);
                for (int j = i, k = at(i, i); j < d; j++, k++) outer.add(k, (double) f[i] * f[j]); // a product of floats is exact in a double
            }
            n++;
        }

        /** Adds {@code o}'s sums to these; returns this. */
        public Moments merge(Moments o) {
            if (o.d != d) throw new IllegalArgumentException("FID: moments of " + d + " and " + o.d + " features");
            sum.merge(o.sum);
            outer.merge(o.outer);
            n += o.n;
            return this;
        }

        /** Mean and unbiased covariance (as numpy.cov): Σ = (Σxxᵀ − n·μμᵀ) / (n − 1). */
        public Stats stats() {
            if (n < 2) throw new IllegalArgumentException("FID: at least 2 samples are needed, got " + n);
            double[] mu = new double[d];
            for (int i = 0; i < d; i++) mu[i] = sum.get(i) / n;
            double[][] s = new double[d][d];
            for (int i = 0; i < d; i++) for (int j = i; j < d; j++) s[i][j] = s[j][i] = (outer.get(at(i, j)) - n * mu[i] * mu[j]) / (n - 1);
            return new Stats(mu, s, n);
        }
    }

    public static double distance(Stats a, Stats b) {
        int d = a.mu().length;
        if (b.mu().length != d) throw new IllegalArgumentException("FID: feature sizes " + d + " and " + b.mu().length + " differ");
        double mean = 0;
        for (int i = 0; i < d; i++) mean += (a.mu()[i] - b.mu()[i]) * (a.mu()[i] - b.mu()[i]);
        DMatrixRMaj s1 = new DMatrixRMaj(a.sigma()), s2 = new DMatrixRMaj(b.sigma());
        DMatrixRMaj root = sqrtSymmetric(s1);
        DMatrixRMaj tmp = new DMatrixRMaj(d, d), m = new DMatrixRMaj(d, d);
        CommonOps_DDRM.mult(root, s2, tmp);
        CommonOps_DDRM.mult(tmp, root, m);
        double traceSqrt = 0;
        for (double l : symmetricEigenvalues(m)) traceSqrt += Math.sqrt(Math.max(l, 0));
        return mean + CommonOps_DDRM.trace(s1) + CommonOps_DDRM.trace(s2) - 2 * traceSqrt;
    }

    /** V·diag(√max(λ, 0))·Vᵀ of a symmetric matrix. */
    static DMatrixRMaj sqrtSymmetric(DMatrixRMaj s) {
        int d = s.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(s.copy())) throw new IllegalStateException("FID: eigendecomposition failed");
        DMatrixRMaj out = new DMatrixRMaj(d, d);
        for (int k = 0; k < d; k++) {
            double r = Math.sqrt(Math.max(eig.getEigenvalue(k).getReal(), 0));
            DMatrixRMaj v = eig.getEigenVector(k);
            for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) out.add(i, j, r * v.get(i) * v.get(j));
        }
        return out;
    }

    static double[] symmetricEigenvalues(DMatrixRMaj m) {
        DMatrixRMaj sym = m.copy();
        CommonOps_DDRM.transpose(m, sym);
        CommonOps_DDRM.add(0.5, m, 0.5, sym, sym); // remove rounding asymmetry
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m.numRows, false, true);
        if (!eig.decompose(sym)) throw new IllegalStateException("FID: eigendecomposition failed");
        double[] l = new double[m.numRows];
        for (int k = 0; k < l.length; k++) l[k] = eig.getEigenvalue(k).getReal();
        return l;
    }

    /** Statistics written as safetensors: "mu" [D], "sigma" [D, D], "count" [1] (tools/train_demo.py writes them). */
    public static Stats read(java.nio.file.Path file) {
        try (org.deltadit.weights.StateDict sd = org.deltadit.weights.Safetensors.open(file)) {
            float[] mu = sd.tensor("mu").toFloatArray();
            float[] flat = sd.tensor("sigma").toFloatArray();
            int d = mu.length;
            if (flat.length != d * d) throw new org.deltadit.weights.CheckpointException(file + ": 'sigma' has " + flat.length + " values for a " + d + "-wide 'mu'");
            double[] m = new double[d];
            double[][] sig = new double[d][d];
            for (int i = 0; i < d; i++) {
                m[i] = mu[i];
                for (int j = 0; j < d; j++) sig[i][j] = flat[i * d + j];
            }
            return new Stats(m, sig, (int) sd.tensor("count").toFloatArray()[0]);
        }
    }
}
