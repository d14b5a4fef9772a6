/* csvhub.warehouse._copybinary: a batch of canonical cells as PostgreSQL's binary COPY data.
 *
 * Typed COPY spends most of the server's time parsing text (timestamps and numerics above
 * all); in binary format the server only copies values. This encodes a batch held as one
 * '\n'-joined string per column, in csvhub's canonical text (csvread.convert): integer
 * -?digits, decimal -?digits[.digits], 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC),
 * 'true'/'false', text; an empty cell is NULL. Each row is led by its row id (int8).
 *
 * Anything else (an exponent, a date PostgreSQL would read differently, a lone surrogate)
 * makes encode() return None, and the caller sends that batch as text instead: a binary
 * value is never a guess.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Bytes;

static int
bytes_reserve(Bytes *out, Py_ssize_t extra)
{
    if (out->len + extra <= out->cap) {
        return 0;
    }
    Py_ssize_t cap = out->cap ? out->cap : 1 << 16;
    while (cap < out->len + extra) {
        cap *= 2;
    }
    char *data = PyMem_Realloc(out->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->data = data;
    out->cap = cap;
    return 0;
}

static void
put_u16(Bytes *out, uint16_t v)
{
    out->data[out->len++] = (char)(v >> 8);
    out->data[out->len++] = (char)v;
}

static void
put_u32(Bytes *out, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        out->data[out->len++] = (char)(v >> shift);
    }
}

static void
put_u64(Bytes *out, uint64_t v)
{
    for (int shift = 56; shift >= 0; shift -= 8) {
        out->data[out->len++] = (char)(v >> shift);
    }
}

/* A cell of a column string: characters [start, end) read through the string's kind. */
typedef struct {
    int kind;
    int ascii;  /* the whole column is ASCII: a text cell is its own UTF-8 */
    const void *data;
    Py_ssize_t start;
    Py_ssize_t end;
} Cell;

static inline Py_UCS4
at(const Cell *cell, Py_ssize_t i)
{
    return PyUnicode_READ(cell->kind, cell->data, cell->start + i);
}

static inline int
is_digit(Py_UCS4 c)
{
    return c >= '0' && c <= '9';
}

/* `count` digits at i as a number, or -1. */
static long
digits_at(const Cell *cell, Py_ssize_t i, int count)
{
    long value = 0;
    for (int k = 0; k < count; k++) {
        Py_UCS4 c = at(cell, i + k);
        if (!is_digit(c)) {
            return -1;
        }
        value = value * 10 + (long)(c - '0');
    }
    return value;
}

/* Where the digits start, past an optional sign; `negative` tells which sign it was. */
static Py_ssize_t
after_sign(const Cell *cell, int *negative)
{
    Py_UCS4 first = cell->end > cell->start ? at(cell, 0) : 0;
    *negative = first == '-';
    return first == '-' || first == '+';
}

static int
encode_integer(Bytes *out, const Cell *cell)
{
    int negative;
    Py_ssize_t n = cell->end - cell->start, i = after_sign(cell, &negative);
    if (i == n || n - i > 19) {
        return 0;
    }
    uint64_t magnitude = 0;
    for (; i < n; i++) {
        Py_UCS4 c = at(cell, i);
        if (!is_digit(c)) {
            return 0;
        }
        magnitude = magnitude * 10 + (c - '0');
    }
    if (magnitude > (uint64_t)INT64_MAX + (negative ? 1 : 0)) {
        return 0;
    }
    put_u32(out, 8);
    put_u64(out, negative ? (uint64_t)0 - magnitude : magnitude);
    return 1;
}

/* NUMERIC's binary form: ndigits, weight, sign, dscale, then base-10000 digits. */
static int
encode_decimal(Bytes *out, const Cell *cell)
{
    int negative;
    Py_ssize_t n = cell->end - cell->start, i = after_sign(cell, &negative);
    Py_ssize_t whole_start = i;
    while (i < n && is_digit(at(cell, i))) {
        i++;
    }
    Py_ssize_t whole_end = i, fraction_start = i, fraction_end = i;
    if (i < n) {
        if (at(cell, i) != '.') {
            return 0;  /* an exponent, or not a number */
        }
        fraction_start = ++i;
        while (i < n && is_digit(at(cell, i))) {
            i++;
        }
        fraction_end = i;
        if (i < n) {
            return 0;
        }
    }
    if (whole_end == whole_start && fraction_end == fraction_start) {
        return 0;
    }
    while (whole_start < whole_end && at(cell, whole_start) == '0') {
        whole_start++;
    }
    Py_ssize_t whole = whole_end - whole_start, fraction = fraction_end - fraction_start;
    if (fraction > 16383 || whole > 131072) {
        return 0;
    }
    /* base-10000 groups: the whole part padded on the left, the fraction on the right */
    Py_ssize_t whole_groups = (whole + 3) / 4, fraction_groups = (fraction + 3) / 4;
    Py_ssize_t groups = whole_groups + fraction_groups;
    uint16_t stack_digits[64];
    uint16_t *digits = groups <= 64 ? stack_digits : PyMem_Malloc(groups * sizeof(uint16_t));
    if (digits == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pad = whole_groups * 4 - whole;
    for (Py_ssize_t g = 0; g < whole_groups; g++) {
        unsigned value = 0;
        for (int k = 0; k < 4; k++) {
            Py_ssize_t position = g * 4 + k - pad;  /* index into the whole part */
            value = value * 10 + (position >= 0 ? at(cell, whole_start + position) - '0' : 0);
        }
        digits[g] = (uint16_t)value;
    }
    for (Py_ssize_t g = 0; g < fraction_groups; g++) {
        unsigned value = 0;
        for (int k = 0; k < 4; k++) {
            Py_ssize_t position = g * 4 + k;
            value = value * 10 + (position < fraction ? at(cell, fraction_start + position) - '0' : 0);
        }
        digits[whole_groups + g] = (uint16_t)value;
    }
    Py_ssize_t first = 0, last = groups;
    while (first < last && digits[first] == 0) {
        first++;
    }
    while (last > first && digits[last - 1] == 0) {
        last--;
    }
    Py_ssize_t ndigits = last - first;
    long weight = ndigits ? (long)(whole_groups - 1 - first) : 0;
    if (bytes_reserve(out, 12 + 2 * ndigits) < 0) {
        if (digits != stack_digits) {
            PyMem_Free(digits);
        }
        return -1;
    }
    put_u32(out, (uint32_t)(8 + 2 * ndigits));
    put_u16(out, (uint16_t)ndigits);
    put_u16(out, (uint16_t)(int16_t)weight);
    put_u16(out, negative && ndigits ? 0x4000 : 0x0000);
    put_u16(out, (uint16_t)fraction);
    for (Py_ssize_t g = first; g < last; g++) {
        put_u16(out, digits[g]);
    }
    if (digits != stack_digits) {
        PyMem_Free(digits);
    }
    return 1;
}

/* Days from 2000-01-01 (PostgreSQL's epoch) to a valid Gregorian date; 0 when invalid. */
static int
days_since_2000(const Cell *cell, int64_t *days)
{
    long year = digits_at(cell, 0, 4), month = digits_at(cell, 5, 2), day = digits_at(cell, 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || at(cell, 4) != '-'
        || at(cell, 7) != '-') {
        return 0;
    }
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > month_days[month - 1] + (month == 2 && leap)) {
        return 0;
    }
    /* days from civil (a year starting in March keeps leap days at its end) */
    long y = year - (month <= 2);
    long era = y / 400;
    long year_of_era = y - era * 400;
    long day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    *days = (int64_t)era * 146097 + day_of_era - 719468 - 10957;
    return 1;
}

static int
encode_date(Bytes *out, const Cell *cell)
{
    int64_t days;
    if (cell->end - cell->start != 10 || !days_since_2000(cell, &days)) {
        return 0;
    }
    put_u32(out, 4);
    put_u32(out, (uint32_t)(int32_t)days);
    return 1;
}

static int
encode_timestamp(Bytes *out, const Cell *cell)
{
    Py_ssize_t n = cell->end - cell->start;
    int64_t days;
    if (n < 19 || n == 20 || n > 26 || at(cell, 10) != ' ' || at(cell, 13) != ':'
        || at(cell, 16) != ':' || !days_since_2000(cell, &days)) {
        return 0;
    }
    long hour = digits_at(cell, 11, 2), minute = digits_at(cell, 14, 2);
    long second = digits_at(cell, 17, 2);
    /* 24:00:00 and leap seconds are PostgreSQL's to roll over: left to the text path */
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return 0;
    }
    long micro = 0;
    if (n > 19) {
        if (at(cell, 19) != '.') {
            return 0;
        }
        int places = (int)(n - 20);
        micro = digits_at(cell, 20, places);
        if (micro < 0) {
            return 0;
        }
        for (int k = places; k < 6; k++) {
            micro *= 10;
        }
    }
    int64_t value = ((days * 24 + hour) * 60 + minute) * 60 + second;
    put_u32(out, 8);
    put_u64(out, (uint64_t)(value * 1000000 + micro));
    return 1;
}

static int
encode_boolean(Bytes *out, const Cell *cell)
{
    Py_ssize_t n = cell->end - cell->start;
    int value;
    if (n == 4 && at(cell, 0) == 't' && at(cell, 1) == 'r' && at(cell, 2) == 'u'
        && at(cell, 3) == 'e') {
        value = 1;
    }
    else if (n == 5 && at(cell, 0) == 'f' && at(cell, 1) == 'a' && at(cell, 2) == 'l'
             && at(cell, 3) == 's' && at(cell, 4) == 'e') {
        value = 0;
    }
    else {
        return 0;
    }
    put_u32(out, 1);
    out->data[out->len++] = (char)value;
    return 1;
}

static int
encode_text(Bytes *out, const Cell *cell)
{
    Py_ssize_t n = cell->end - cell->start;
    if (bytes_reserve(out, 4 + 4 * n) < 0) {
        return -1;
    }
    Py_ssize_t length_at = out->len;
    out->len += 4;
    if (cell->ascii) {
        memcpy(out->data + out->len, (const char *)cell->data + cell->start, (size_t)n);
        out->len += n;
    }
    else if (cell->kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *chars = (const Py_UCS1 *)cell->data + cell->start;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS1 c = chars[i];
            if (c < 0x80) {
                out->data[out->len++] = (char)c;
            }
            else {
                out->data[out->len++] = (char)(0xC0 | (c >> 6));
                out->data[out->len++] = (char)(0x80 | (c & 0x3F));
            }
        }
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = at(cell, i);
            if (c < 0x80) {
                out->data[out->len++] = (char)c;
            }
            else if (c < 0x800) {
                out->data[out->len++] = (char)(0xC0 | (c >> 6));
                out->data[out->len++] = (char)(0x80 | (c & 0x3F));
            }
            else if (c < 0x10000) {
                if (c >= 0xD800 && c <= 0xDFFF) {
                    return 0;  /* a lone surrogate is no UTF-8 */
                }
                out->data[out->len++] = (char)(0xE0 | (c >> 12));
                out->data[out->len++] = (char)(0x80 | ((c >> 6) & 0x3F));
                out->data[out->len++] = (char)(0x80 | (c & 0x3F));
            }
            else {
                out->data[out->len++] = (char)(0xF0 | (c >> 18));
                out->data[out->len++] = (char)(0x80 | ((c >> 12) & 0x3F));
                out->data[out->len++] = (char)(0x80 | ((c >> 6) & 0x3F));
                out->data[out->len++] = (char)(0x80 | (c & 0x3F));
            }
        }
    }
    uint32_t size = (uint32_t)(out->len - length_at - 4);
    for (int k = 0; k < 4; k++) {
        out->data[length_at + k] = (char)(size >> (24 - 8 * k));
    }
    return 1;
}

/* Where the cell starting at cell->start ends: the next '\n', or the column's end. One-byte
 * columns (nearly all) are searched with memchr, not read a character at a time. */
static Py_ssize_t
line_end(const Cell *cell, Py_ssize_t length)
{
    if (cell->kind == PyUnicode_1BYTE_KIND) {
        const char *chars = cell->data;
        const char *found = memchr(chars + cell->start, '\n', (size_t)(length - cell->start));
        return found == NULL ? length : found - chars;
    }
    Py_ssize_t end = cell->start;
    while (end < length && PyUnicode_READ(cell->kind, cell->data, end) != '\n') {
        end++;
    }
    return end;
}

/* 1 encoded, 0 not canonical (give up on the batch), -1 error. */
static int
encode_cell(Bytes *out, char type, const Cell *cell)
{
    if (cell->end == cell->start) {
        put_u32(out, 0xFFFFFFFFu);  /* NULL */
        return 1;
    }
    switch (type) {
    case 'i': return encode_integer(out, cell);
    case 'n': return encode_decimal(out, cell);
    case 'd': return encode_date(out, cell);
    case 't': return encode_timestamp(out, cell);
    case 'b': return encode_boolean(out, cell);
    default: return encode_text(out, cell);
    }
}

static const char SIGNATURE[] = "PGCOPY\n\377\r\n\0";

PyDoc_STRVAR(encode_doc,
"encode(columns, types, first_id, header) -> bytes or None\n\n"
"Rows of binary COPY data, each led by its row id (first_id, first_id + 1, ...). columns:\n"
"one '\\n'-joined string of canonical cells per column; types: one letter per column, i\n"
"(int8), n (numeric), d (date), t (timestamptz), b (boolean), s (text). With header, the\n"
"data starts with the format's signature. None when a cell is not in canonical form.");

static PyObject *
encode(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *columns;
    const char *types;
    Py_ssize_t types_length;
    long long first_id;
    int header;
    if (!PyArg_ParseTuple(args, "O!s#Lp", &PyList_Type, &columns, &types, &types_length,
                          &first_id, &header)) {
        return NULL;
    }
    Py_ssize_t width = PyList_GET_SIZE(columns);
    if (width != types_length || width == 0 || width > 1599) {
        PyErr_SetString(PyExc_ValueError, "one type letter per column, 1 to 1599 columns");
        return NULL;
    }
    Cell *cells = PyMem_Calloc(width, sizeof(Cell));
    Py_ssize_t *lengths = PyMem_Calloc(width, sizeof(Py_ssize_t));
    Bytes out = {NULL, 0, 0};
    PyObject *result = NULL;
    if (cells == NULL || lengths == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t c = 0; c < width; c++) {
        PyObject *text = PyList_GET_ITEM(columns, c);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "columns must be str");
            goto done;
        }
        cells[c].kind = PyUnicode_KIND(text);
        cells[c].ascii = PyUnicode_IS_ASCII(text);
        cells[c].data = PyUnicode_DATA(text);
        lengths[c] = PyUnicode_GET_LENGTH(text);
    }
    if (bytes_reserve(&out, 19) < 0) {
        goto done;
    }
    if (header) {
        memcpy(out.data, SIGNATURE, 11);
        out.len = 11;
        put_u32(&out, 0);  /* flags */
        put_u32(&out, 0);  /* header extension length */
    }
    long long row_id = first_id;
    for (;;) {
        if (bytes_reserve(&out, 2 + 12 + 16 * width) < 0) {
            goto done;
        }
        put_u16(&out, (uint16_t)(width + 1));
        put_u32(&out, 8);
        put_u64(&out, (uint64_t)row_id++);
        int last_row = 0;
        for (Py_ssize_t c = 0; c < width; c++) {
            Cell *cell = &cells[c];
            cell->end = line_end(cell, lengths[c]);
            Py_ssize_t end = cell->end;
            if (c == 0) {
                last_row = end >= lengths[0];
            }
            else if (last_row != (end >= lengths[c])) {
                PyErr_SetString(PyExc_ValueError, "the columns hold different numbers of cells");
                goto done;
            }
            if (bytes_reserve(&out, 16) < 0) {
                goto done;
            }
            int encoded = encode_cell(&out, types[c], cell);
            if (encoded < 0) {
                goto done;
            }
            if (encoded == 0) {
                result = Py_NewRef(Py_None);
                goto done;
            }
            cell->start = end + 1;
        }
        if (last_row) {
            break;
        }
    }
    result = PyBytes_FromStringAndSize(out.data, out.len);
done:
    PyMem_Free(cells);
    PyMem_Free(lengths);
    PyMem_Free(out.data);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS, encode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "csvhub.warehouse._copybinary",
    .m_doc = "Canonical cells as PostgreSQL binary COPY data (see load.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__copybinary(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    PyObject *trailer = PyBytes_FromStringAndSize("\377\377", 2);
    if (trailer == NULL || PyModule_AddObjectRef(m, "TRAILER", trailer) < 0) {
        Py_XDECREF(trailer);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(trailer);
    return m;
}
