package io.nflb.plan;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;

/** An exact non-negative-or-negative fraction in lowest terms; shares are computed with these, never doubles. */
public record Rational(BigInteger num, BigInteger den) implements Comparable<Rational> {

    public static final Rational ZERO = new Rational(BigInteger.ZERO, BigInteger.ONE);
    public static final Rational ONE = new Rational(BigInteger.ONE, BigInteger.ONE);

    public Rational {
        if (den.signum() == 0) throw new ArithmeticException("zero denominator");
        if (den.signum() < 0) {
            num = num.negate();
            den = den.negate();
        }
        BigInteger g = gcd(num, den);
        if (!g.equals(BigInteger.ONE) && g.signum() != 0) {
            num = num.divide(g);
            den = den.divide(g);
        }
        if (num.signum() == 0) den = BigInteger.ONE;
    }

    /**
     * num.gcd(den), fast when one side's odd part is small: the shares of a kernel's random rules are m / 2^e
     * with numerators of thousands of bits, where BigInteger's binary gcd would take milliseconds each.
     */
    private static BigInteger gcd(BigInteger a, BigInteger b) {
        if (a.signum() == 0 || b.signum() == 0) return a.gcd(b);
        a = a.abs();
        b = b.abs();
        int ta = a.getLowestSetBit();
        int tb = b.getLowestSetBit();
        BigInteger oa = a.shiftRight(ta);
        BigInteger ob = b.shiftRight(tb);
        if (ob.bitLength() > 62 && oa.bitLength() > 62) return a.gcd(b);
        BigInteger small = ob.bitLength() <= 62 ? ob : oa;
        BigInteger large = small == ob ? oa : ob;
        return large.mod(small).gcd(small).shiftLeft(Math.min(ta, tb));
    }

    public static Rational of(long num, long den) {
        return new Rational(BigInteger.valueOf(num), BigInteger.valueOf(den));
    }

    public static Rational of(long value) {
        return of(value, 1);
    }

    /** The exact value of a decimal string such as "0.3333333333". */
    public static Rational parseDecimal(String text) {
        BigDecimal d = new BigDecimal(text);
        if (d.scale() <= 0) return new Rational(d.toBigIntegerExact(), BigInteger.ONE);
        return new Rational(d.unscaledValue(), BigInteger.TEN.pow(d.scale()));
    }

    public Rational add(Rational o) {
        return new Rational(num.multiply(o.den).add(o.num.multiply(den)), den.multiply(o.den));
    }

    public Rational subtract(Rational o) {
        return new Rational(num.multiply(o.den).subtract(o.num.multiply(den)), den.multiply(o.den));
    }

    public Rational multiply(Rational o) {
        return new Rational(num.multiply(o.num), den.multiply(o.den));
    }

    public Rational divide(Rational o) {
        return new Rational(num.multiply(o.den), den.multiply(o.num));
    }

    public boolean isZero() {
        return num.signum() == 0;
    }

    public double toDouble() {
        return new BigDecimal(num).divide(new BigDecimal(den), MathContext.DECIMAL64).doubleValue();
    }

    /** Rounded half-up to {@code digits} decimals, without an exponent: the form rules are written in. */
    public String toDecimal(int digits) {
        return new BigDecimal(num).divide(new BigDecimal(den), digits, RoundingMode.HALF_UP).toPlainString();
    }

    @Override
    public int compareTo(Rational o) {
        return num.multiply(o.den).compareTo(o.num.multiply(den));
    }

    @Override
    public String toString() {
        return den.equals(BigInteger.ONE) ? num.toString() : num + "/" + den;
    }
}
