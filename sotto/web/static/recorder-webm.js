// Where a live WebM stream may be cut.
//
// Chrome hands over each timeslice ending with the first bytes of the next element. A
// stream whose next chunk never comes (reload, crash) would end on those stray bytes, and the
// server rightly calls such a file cut off. So we follow the stream's EBML structure and
// report the end of its last whole element; tus.js sends no further until the stream goes
// on or is finished. Only the open-ended Segment and Cluster are entered; every element of
// known size (headers, blocks, Firefox's sized Clusters) is skipped whole, unread.

var SEGMENT = 0x18538067, CLUSTER = 0x1F43B675, MAX_ELEMENT = 64 * 1024 * 1024;

export function WebmCuts() {
  this.end = 0;                    // bytes seen
  this.next = 0;                   // where the next element header starts (or a skipped one ends)
  this.carry = new Uint8Array(0);  // an element header split across chunks
  this.cut = 0;                    // the end of the last whole element
  this.lost = false;               // not WebM as expected: no limit rather than a stalled upload
}

// Variable-size integer at buf[i]: {length, value, allOnes}, or null when incomplete; throws
// when the bytes cannot be one.
function vint(buf, i, maxLength) {
  if (i >= buf.length) return null;
  var first = buf[i], length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
  if (length > maxLength) throw new Error("not EBML");
  if (i + length > buf.length) return null;
  var value = first & (0xFF >> length), allOnes = value === (0xFF >> length);
  for (var k = 1; k < length; k++) {
    value = value * 256 + buf[i + k];
    allOnes = allOnes && buf[i + k] === 0xFF;
  }
  return { length: length, value: value, allOnes: allOnes };
}

// Takes the next chunk's bytes; returns the offset up to which the stream may be cut, or
// null once the structure is not understood.
WebmCuts.prototype.feed = function (bytes) {
  if (this.lost) return null;
  var buf = bytes, start = this.end;
  if (this.carry.length) {
    buf = new Uint8Array(this.carry.length + bytes.length);
    buf.set(this.carry);
    buf.set(bytes, this.carry.length);
    start -= this.carry.length;
  }
  this.end += bytes.length;
  var pos = this.next;
  try {
    while (pos < this.end) {
      if (pos > this.cut) this.cut = pos;
      var i = pos - start, id = vint(buf, i, 4);
      var size = id && vint(buf, i + id.length, 8);
      if (!size) break;  // the header goes on in the next chunk
      var header = id.length + size.length;
      if (size.allOnes) {
        var elementId = 0;
        for (var k = 0; k < id.length; k++) elementId = elementId * 256 + buf[i + k];
        if (elementId !== SEGMENT && elementId !== CLUSTER) throw new Error("open-ended " + elementId.toString(16));
        pos += header;  // enter it: its children follow
      } else {
        if (size.value > MAX_ELEMENT) throw new Error("element too large");
        pos += header + size.value;
      }
    }
    if (pos <= this.end && pos > this.cut) this.cut = pos;
  } catch (e) {
    this.lost = true;
    return null;
  }
  this.next = pos;
  this.carry = pos < this.end ? buf.slice(pos - start) : new Uint8Array(0);
  return this.cut;
};
