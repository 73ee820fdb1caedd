// A small reader of Mapbox Vector Tiles (spec 2.1): each layer's features with their id,
// properties and, for points, their positions in longitude and latitude. Enough for the event
// tiles of a static snapshot (one point per event); lines and polygons are not decoded.

const decoder = new TextDecoder("utf-8");

class Protobuf {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  // Varints past 2^53 lose precision; tiles here carry ids, counts and dates, far below that.
  varint() {
    let value = 0;
    let scale = 1;
    let byte;
    do {
      if (this.pos >= this.bytes.length) throw new Error("truncated vector tile");
      byte = this.bytes[this.pos++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return value;
  }

  zigzag() {
    const n = this.varint();
    return n % 2 ? -(n + 1) / 2 : n / 2;
  }

  // Calls visit(field, wireType) for each field up to `end`; visit reads the value or
  // returns false to have it skipped.
  fields(end, visit) {
    while (this.pos < end) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      const start = this.pos;
      if (visit(field, wire) === false || this.pos === start) this.skip(wire);
    }
    this.pos = end;
  }

  length() {
    const n = this.varint();
    return this.pos + n;
  }

  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos = this.length();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unknown protobuf wire type ${wire}`);
  }

  string() {
    const end = this.length();
    const text = decoder.decode(this.bytes.subarray(this.pos, end));
    this.pos = end;
    return text;
  }

  packed() {
    const end = this.length();
    const values = [];
    while (this.pos < end) values.push(this.varint());
    return values;
  }
}

function readValue(pbf) {
  const end = pbf.length();
  let value = null;
  pbf.fields(end, (field) => {
    if (field === 1) value = pbf.string();
    else if (field === 2) { value = pbf.view.getFloat32(pbf.pos, true); pbf.pos += 4; }
    else if (field === 3) { value = pbf.view.getFloat64(pbf.pos, true); pbf.pos += 8; }
    else if (field === 4 || field === 5) value = pbf.varint();
    else if (field === 6) value = pbf.zigzag();
    else if (field === 7) value = Boolean(pbf.varint());
    else return false;
    return true;
  });
  return value;
}

function readFeature(pbf) {
  const end = pbf.length();
  const feature = { id: null, tags: [], type: 0, geometry: [] };
  pbf.fields(end, (field) => {
    if (field === 1) feature.id = pbf.varint();
    else if (field === 2) feature.tags = pbf.packed();
    else if (field === 3) feature.type = pbf.varint();
    else if (field === 4) feature.geometry = pbf.packed();
    else return false;
    return true;
  });
  return feature;
}

function readLayer(pbf) {
  const end = pbf.length();
  const layer = { name: "", extent: 4096, keys: [], values: [], raw: [] };
  pbf.fields(end, (field) => {
    if (field === 1) layer.name = pbf.string();
    else if (field === 2) layer.raw.push(readFeature(pbf));
    else if (field === 3) layer.keys.push(pbf.string());
    else if (field === 4) layer.values.push(readValue(pbf));
    else if (field === 5) layer.extent = pbf.varint();
    else return false;
    return true;
  });
  return layer;
}

// The points of a geometry's MoveTo commands, in tile coordinates.
function points(commands) {
  const found = [];
  let x = 0;
  let y = 0;
  for (let i = 0; i < commands.length;) {
    const command = commands[i] & 7;
    const count = Math.floor(commands[i] / 8);
    i += 1;
    if (command === 7) continue; // ClosePath has no parameters
    for (let k = 0; k < count; k += 1) {
      const dx = commands[i] % 2 ? -(commands[i] + 1) / 2 : commands[i] / 2;
      const dy = commands[i + 1] % 2 ? -(commands[i + 1] + 1) / 2 : commands[i + 1] / 2;
      i += 2;
      x += dx;
      y += dy;
      if (command === 1) found.push([x, y]);
    }
  }
  return found;
}

// The layers of tile (z, x, y) as {name: [{id, properties, points: [[lng, lat], ...]}]}.
export function readTile(buffer, { z, x, y }) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const pbf = new Protobuf(bytes);
  const layers = {};
  const size = 2 ** z;
  pbf.fields(bytes.length, (field) => {
    if (field !== 3) return false;
    const layer = readLayer(pbf);
    layers[layer.name] = layer.raw.map((raw) => {
      const properties = {};
      for (let i = 0; i + 1 < raw.tags.length; i += 2) properties[layer.keys[raw.tags[i]]] = layer.values[raw.tags[i + 1]];
      const lngLat = raw.type === 1 ? points(raw.geometry).map(([px, py]) => {
        const lng = ((x + px / layer.extent) / size) * 360 - 180;
        const n = Math.PI * (1 - (2 * (y + py / layer.extent)) / size);
        return [lng, (Math.atan(Math.sinh(n)) * 180) / Math.PI];
      }) : [];
      return { id: raw.id, properties, points: lngLat };
    });
    return true;
  });
  return layers;
}
