package io.nflb.explain;

import io.nflb.plan.Rational;

import java.math.BigInteger;

/**
 * A share of new connections, exact and cheap: while only the kernel's 31-bit probabilities are involved every
 * share is a dyadic fraction m / 2^e, kept that way (adding aligns exponents by a shift, nothing is ever
 * reduced by a gcd), so a group of 1,000 --probability rules costs O(n^2) word operations instead of n gcds of
 * 31,000-bit numbers. Anything else (an nth rule's long-run rate 1/n) falls back to a {@link Rational}.
 */
final class Mass {

    static final Mass ZERO = new Mass(BigInteger.ZERO, 0, null);
    static final Mass ONE = new Mass(BigInteger.ONE, 0, null);

    private final BigInteger m;
    private final int e;
    private final Rational general;

    private Mass(BigInteger m, int e, Rational general) {
        this.m = m;
        this.e = e;
        this.general = general;
    }

    static Mass dyadic(BigInteger m, int e) {
        if (m.signum() == 0) return ZERO;
        int shift = Math.min(m.getLowestSetBit(), e);
        return new Mass(shift == 0 ? m : m.shiftRight(shift), e - shift, null);
    }

    static Mass of(Rational r) {
        BigInteger den = r.den();
        if (den.bitCount() == 1) return dyadic(r.num(), den.getLowestSetBit());
        return new Mass(null, 0, r);
    }

    boolean isZero() {
        return general == null ? m.signum() == 0 : general.isZero();
    }

    boolean isOne() {
        return general == null ? e == 0 && m.equals(BigInteger.ONE) : general.equals(Rational.ONE);
    }

    Mass add(Mass o) {
        if (general != null || o.general != null) return of(toRational().add(o.toRational()));
        if (e >= o.e) return dyadic(m.add(o.m.shiftLeft(e - o.e)), e);
        return dyadic(m.shiftLeft(o.e - e).add(o.m), o.e);
    }

    Mass subtract(Mass o) {
        if (general != null || o.general != null) return of(toRational().subtract(o.toRational()));
        if (e >= o.e) return dyadic(m.subtract(o.m.shiftLeft(e - o.e)), e);
        return dyadic(m.shiftLeft(o.e - e).subtract(o.m), o.e);
    }

    Mass multiply(Mass o) {
        if (general != null || o.general != null) return of(toRational().multiply(o.toRational()));
        return dyadic(m.multiply(o.m), e + o.e);
    }

    Rational toRational() {
        return general != null ? general : new Rational(m, BigInteger.ONE.shiftLeft(e));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mass x && toRational().equals(x.toRational());
    }

    @Override
    public int hashCode() {
        return toRational().hashCode();
    }

    @Override
    public String toString() {
        return toRational().toString();
    }
}
