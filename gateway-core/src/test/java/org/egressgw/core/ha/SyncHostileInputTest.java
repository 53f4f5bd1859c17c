package org.egressgw.core.ha;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.egressgw.core.datapath.SyncRecord;
import org.junit.jupiter.api.Test;

/**
 * The state sync's parsers against hostile bytes: a frame ({@link SyncFrames}) altered anywhere, cut anywhere,
 * replayed, keyed otherwise or random is refused with an {@link IOException} (an authentication failure wherever the
 * MAC covers it) and never anything else; a RECORDS payload ({@link SyncInbound#checkRecords}) is accepted only when
 * its count, its length and every record's type agree.
 */
class SyncHostileInputTest {
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private static DataInputStream stream(byte[] bytes) {
        return new DataInputStream(new ByteArrayInputStream(bytes));
    }

    private static byte[] records(int count, int type) {
        byte[] p = new byte[2 + count * SyncProtocol.RECORD_BYTES];
        p[0] = (byte) (count >>> 8);
        p[1] = (byte) count;
        for (int i = 0; i < count; i++) {
            p[2 + i * SyncProtocol.RECORD_BYTES] = (byte) type;
            p[3 + i * SyncProtocol.RECORD_BYTES] = (byte) (i + 1);
        }
        return p;
    }

    @Test
    void aFrameReadsBackAndAnyAlterationIsRefused() throws Exception {
        byte[] payload = records(3, SyncRecord.UPSERT);
        byte[] frame = new SyncFrames(KEY).encode(SyncProtocol.RECORDS, payload, payload.length);
        SyncFrames.Frame f = new SyncFrames(KEY).read(stream(frame));
        assertEquals(SyncProtocol.RECORDS, f.type());
        assertArrayEquals(payload, f.payload());

        for (int bit = 0; bit < frame.length * 8; bit++) {
            byte[] bad = frame.clone();
            bad[bit >>> 3] ^= (byte) (1 << (bit & 7));
            IOException e = assertThrows(IOException.class, () -> new SyncFrames(KEY).read(stream(bad)), "bit " + bit);
            if (bit >= 32) {
                assertTrue(e instanceof SyncFrames.SyncAuthException, "bit " + bit + " of the MAC'd part: " + e);
            }
        }
        for (int length = 0; length < frame.length; length++) {
            byte[] cut = Arrays.copyOf(frame, length);
            assertThrows(IOException.class, () -> new SyncFrames(KEY).read(stream(cut)), "cut at " + length);
        }
        byte[] otherKey = "another key, sixteen bytes or more".getBytes(StandardCharsets.US_ASCII);
        assertThrows(SyncFrames.SyncAuthException.class, () -> new SyncFrames(otherKey).read(stream(frame)));

        SyncFrames reader = new SyncFrames(KEY);
        byte[] twice = Arrays.copyOf(frame, 2 * frame.length);
        System.arraycopy(frame, 0, twice, frame.length, frame.length);
        DataInputStream in = stream(twice);
        reader.read(in);
        assertThrows(SyncFrames.SyncAuthException.class, () -> reader.read(in), "a replayed frame");
    }

    @Test
    void randomBytesAreOnlyEverAnIoException() {
        Random rnd = new Random(0x5_17C_0001L);
        for (int i = 0; i < 20_000; i++) {
            byte[] d = new byte[rnd.nextInt(160)];
            rnd.nextBytes(d);
            if (d.length >= 4 && rnd.nextBoolean()) {
                // a plausible length, so that the body is read and the MAC checked
                int length = Math.max(0, d.length - 4 + rnd.nextInt(5) - 2);
                d[0] = 0;
                d[1] = 0;
                d[2] = (byte) (length >>> 8);
                d[3] = (byte) length;
            }
            try {
                new SyncFrames(KEY).read(stream(d));
                fail("random bytes accepted as a frame, case " + i);
            } catch (IOException expected) {
                // refused
            } catch (RuntimeException e) {
                throw new AssertionError("case " + i + " threw " + e, e);
            }
        }
    }

    @Test
    void aRecordsPayloadIsCheckedWhole() throws Exception {
        assertEquals(0, SyncInbound.checkRecords(records(0, SyncRecord.UPSERT)));
        assertEquals(1, SyncInbound.checkRecords(records(1, SyncRecord.REMOVE)));
        assertEquals(256, SyncInbound.checkRecords(records(256, SyncRecord.UPSERT)));

        assertThrows(IOException.class, () -> SyncInbound.checkRecords(new byte[0]));
        assertThrows(IOException.class, () -> SyncInbound.checkRecords(new byte[1]));
        byte[] three = records(3, SyncRecord.UPSERT);
        assertThrows(IOException.class, () -> SyncInbound.checkRecords(Arrays.copyOf(three, three.length - 1)));
        assertThrows(IOException.class, () -> SyncInbound.checkRecords(Arrays.copyOf(three, three.length + 1)));
        byte[] badType = three.clone();
        badType[2 + 2 * SyncProtocol.RECORD_BYTES] = 7;
        IOException e = assertThrows(IOException.class, () -> SyncInbound.checkRecords(badType));
        assertTrue(e.getMessage().contains("record type 7 is unknown"), e.getMessage());

        Random rnd = new Random(0x5_17C_0002L);
        for (int i = 0; i < 20_000; i++) {
            byte[] d = rnd.nextInt(3) == 0 ? new byte[rnd.nextInt(300)] : records(rnd.nextInt(4), 1 + rnd.nextInt(2));
            if (d.length > 0 && rnd.nextBoolean()) {
                d[rnd.nextInt(d.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            try {
                int count = SyncInbound.checkRecords(d);
                assertEquals(d.length, 2 + count * SyncProtocol.RECORD_BYTES, "case " + i);
            } catch (IOException refused) {
                // refused
            } catch (RuntimeException x) {
                throw new AssertionError("case " + i + " threw " + x, x);
            }
        }
    }
}
