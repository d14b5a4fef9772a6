/* csvhub.csvread._splitter: CSV records split straight into columns.
 *
 * The csv module builds a list and a str for every record and cell, and csvhub then transposes
 * the rows into columns: together the largest cost of an ingestion. This reader follows the
 * same rules as csv.reader with csvhub's dialect (a one-character delimiter, '"' quoting with
 * doubled quotes, no escape character, strict=False), fed the same way (blocks of text that
 * end at a line break), but writes each good record's cells onto per-column buffers and hands
 * a batch back as one string per column, its cells joined with '\n'.
 *
 * The rules, per character, where EOL is the end of a physical line (after '\n', after a '\r'
 * not followed by '\n', or at the end of a block):
 *   START_RECORD  line break: EAT_CRNL; EOL: an empty record; else as START_FIELD
 *   START_FIELD   line break or EOL: save an empty field, end of record; '"': IN_QUOTED;
 *                 delimiter: save an empty field; else: the first character, IN_FIELD
 *   IN_FIELD      line break or EOL: save, end of record; delimiter: save, START_FIELD
 *   IN_QUOTED     '"': QUOTE_IN_QUOTED; EOL: nothing (the break was kept as a character)
 *   QUOTE_IN_QUOTED  '"': a literal quote, IN_QUOTED; delimiter: save, START_FIELD;
 *                 line break or EOL: save, end of record; else: the character, IN_FIELD
 *   EAT_CRNL      line break: nothing; EOL: START_RECORD
 * A record is complete when a line ends in START_RECORD.
 *
 * Only records with exactly `width` fields go to the columns; every other record (blank lines,
 * wrong field counts) comes back as a list of its fields with its line numbers, for the Python
 * side to judge. A record cannot grow without bound (reader.py's _LineFeed makes the same
 * checks for the csv module):
 *   "long"   its first line is over `record_limit` characters (line breaks included): the
 *            rest of that line is skipped and reading goes on with the next line;
 *   "eof"    the input ends inside a quoted field;
 *   "lines"  a further line would make it span more than `max_lines` lines;
 *   "size"   a further line would take it over `record_limit` characters;
 *   "text"   a quote that closes a field begun on an earlier line is followed by text (not a
 *            delimiter, a line break or another quote), as when a stray quote has run on to
 *            the opening quote of a later field (csv.reader with strict=True refuses it).
 * In the last four a quote was (most likely) never closed: the problem names the line where
 * the open quoted field started, and the Python side rejects the record's lines up to that one
 * and reads the lines after it again as new records (restart).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum state {
    START_RECORD,
    START_FIELD,
    IN_FIELD,
    IN_QUOTED,
    QUOTE_IN_QUOTED,
    EAT_CRNL,
};

#define EOL ((Py_UCS4) - 1)

typedef struct {
    Py_UCS4 *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

static int
buffer_reserve(Buffer *buffer, Py_ssize_t extra)
{
    if (buffer->len + extra <= buffer->cap) {
        return 0;
    }
    Py_ssize_t cap = buffer->cap ? buffer->cap : 256;
    while (cap < buffer->len + extra) {
        cap *= 2;
    }
    Py_UCS4 *data = PyMem_Realloc(buffer->data, cap * sizeof(Py_UCS4));
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->data = data;
    buffer->cap = cap;
    return 0;
}

typedef struct {
    Buffer text;          /* the batch's cells of this column, joined with '\n' */
    Py_ssize_t *ends;     /* where each cell ends in `text` */
    Py_ssize_t ends_cap;
    int has_line_break;   /* a cell holds '\n': joining would be ambiguous */
    /* the batch's summary (see summary_tuple): spans are (offset, length) in `text` */
    Py_ssize_t empties;
    Py_ssize_t min_length;
    Py_ssize_t max_length;
    Py_ssize_t text_min[2];
    Py_ssize_t text_max[2];
    int numbers;          /* every non-empty cell is a plain number: -?digits[.digits] */
    Py_ssize_t number_min[2];
    Py_ssize_t number_max[2];
} ColumnBuffer;

static void
summary_reset(ColumnBuffer *column)
{
    column->empties = 0;
    column->min_length = -1;
    column->max_length = -1;
    column->numbers = 1;
}

typedef struct {
    PyObject_HEAD
    PyObject *blocks;          /* iterator of str blocks, each ending at a line break, or of
                                * (str, start): the block from `start` on, uncopied */
    Py_UCS4 delimiter;
    Py_ssize_t record_limit;   /* characters of one record's lines, line breaks included */
    Py_ssize_t max_lines;      /* lines one record may span */
    /* the block being read */
    PyObject *block;
    int kind;
    const void *data;
    Py_ssize_t position;
    Py_ssize_t length;
    int line_open;             /* characters of the current line were read */
    int exhausted;
    /* the record being read */
    int state;
    Buffer record;             /* the record's fields, back to back */
    Py_ssize_t *field_ends;
    Py_ssize_t fields;
    Py_ssize_t field_ends_cap;
    Py_ssize_t field_start;
    int quoted_line_break;     /* a field of the record holds '\n' */
    Py_ssize_t record_line;    /* the line the record starts on */
    Py_ssize_t record_chars;   /* characters of the record's lines read so far */
    Py_ssize_t quote_line;     /* the line where the last quoted field opened */
    Py_ssize_t line_quote;     /* quote_line when the current line of the record started */
    Py_ssize_t line_num;       /* lines read to their end (csv.reader's line_num) */
    /* the problem read_record returned 2 for: PROBLEM_*, the record's first line, and the
     * line where its open quote started (the first line again for "long") */
    int problem;
    Py_ssize_t problem_first;
    Py_ssize_t problem_last;
    Py_ssize_t problem_at;     /* the line where the problem was found */
    /* the batch */
    ColumnBuffer *columns;
    Py_ssize_t width;
    Py_ssize_t good;
    Py_ssize_t batch_chars;    /* characters of the batch's records as written */
} Reader;

enum problem {
    PROBLEM_LONG = 1,
    PROBLEM_EOF,
    PROBLEM_LINES,
    PROBLEM_SIZE,
    PROBLEM_TEXT,
};

static const char *const PROBLEM_NAMES[] = {"", "long", "eof", "lines", "size", "text"};

static void
columns_free(Reader *self)
{
    if (self->columns != NULL) {
        for (Py_ssize_t i = 0; i < self->width; i++) {
            PyMem_Free(self->columns[i].text.data);
            PyMem_Free(self->columns[i].ends);
        }
        PyMem_Free(self->columns);
        self->columns = NULL;
    }
    self->width = 0;
}

/* Buffers grown by one huge batch or field are given back rather than kept for the rest of
 * the file (4 bytes a character). */
#define KEEP_CHARACTERS (1 << 22)

static void
buffer_trim(Buffer *buffer)
{
    if (buffer->cap > KEEP_CHARACTERS) {
        PyMem_Free(buffer->data);
        buffer->data = NULL;
        buffer->cap = 0;
        buffer->len = 0;
    }
}

static int
columns_prepare(Reader *self, Py_ssize_t width)
{
    buffer_trim(&self->record);
    if (self->columns != NULL && self->width == width) {
        for (Py_ssize_t i = 0; i < width; i++) {
            self->columns[i].text.len = 0;
            buffer_trim(&self->columns[i].text);
            self->columns[i].has_line_break = 0;
            summary_reset(&self->columns[i]);
        }
        self->good = 0;
        return 0;
    }
    columns_free(self);
    self->columns = PyMem_Calloc(width ? width : 1, sizeof(ColumnBuffer));
    if (self->columns == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < width; i++) {
        summary_reset(&self->columns[i]);
    }
    self->width = width;
    self->good = 0;
    return 0;
}

/* Store `value` at `(*array)[index]`, growing the array (of `*cap` entries) as needed. */
static int
offsets_set(Py_ssize_t **array, Py_ssize_t *cap, Py_ssize_t index, Py_ssize_t value)
{
    if (index >= *cap) {
        Py_ssize_t grown = *cap ? *cap * 2 : 64;
        Py_ssize_t *resized = PyMem_Realloc(*array, grown * sizeof(Py_ssize_t));
        if (resized == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        *array = resized;
        *cap = grown;
    }
    (*array)[index] = value;
    return 0;
}

static int
save_field(Reader *self)
{
    if (offsets_set(&self->field_ends, &self->field_ends_cap, self->fields, self->record.len) < 0) {
        return -1;
    }
    self->fields++;
    self->field_start = self->record.len;
    return 0;
}

/* 1: added; -1: no memory. (read_record keeps the record within record_limit.) */
static int
add_char(Reader *self, Py_UCS4 c)
{
    if (self->record.len == self->record.cap && buffer_reserve(&self->record, 1) < 0) {
        return -1;
    }
    self->record.data[self->record.len++] = c;
    return 1;
}

static void
record_reset(Reader *self)
{
    self->state = START_RECORD;
    self->record.len = 0;
    self->quoted_line_break = 0;
    self->fields = 0;
    self->field_start = 0;
    self->record_chars = 0;
}

/* Feed one character (or EOL) to the state machine: 1 ok, 0 give the record up (PROBLEM_TEXT),
 * -1 error. */
static int
process(Reader *self, Py_UCS4 c)
{
    int line_break = c == '\n' || c == '\r';
    switch (self->state) {
    case START_RECORD:
        if (c == EOL) {
            return 1;  /* an empty line: the record is [] */
        }
        if (line_break) {
            self->state = EAT_CRNL;
            return 1;
        }
        self->state = START_FIELD;
        /* fall through */
    case START_FIELD:
        if (line_break || c == EOL) {
            if (save_field(self) < 0) {
                return -1;
            }
            self->state = c == EOL ? START_RECORD : EAT_CRNL;
        }
        else if (c == '"') {
            self->state = IN_QUOTED;
            self->quote_line = self->line_num + 1;
        }
        else if (c == self->delimiter) {
            return save_field(self) < 0 ? -1 : 1;
        }
        else {
            self->state = IN_FIELD;
            return add_char(self, c);
        }
        return 1;
    case IN_FIELD:
        if (line_break || c == EOL) {
            if (save_field(self) < 0) {
                return -1;
            }
            self->state = c == EOL ? START_RECORD : EAT_CRNL;
            return 1;
        }
        if (c == self->delimiter) {
            self->state = START_FIELD;
            return save_field(self) < 0 ? -1 : 1;
        }
        return add_char(self, c);
    case IN_QUOTED:
        if (c == EOL) {
            return 1;
        }
        if (c == '"') {
            self->state = QUOTE_IN_QUOTED;
            return 1;
        }
        if (c == '\n') {
            self->quoted_line_break = 1;  /* only a quoted field can hold one */
        }
        return add_char(self, c);
    case QUOTE_IN_QUOTED:
        if (c == '"') {
            self->state = IN_QUOTED;
            return add_char(self, c);
        }
        if (c == self->delimiter) {
            self->state = START_FIELD;
            return save_field(self) < 0 ? -1 : 1;
        }
        if (line_break || c == EOL) {
            if (save_field(self) < 0) {
                return -1;
            }
            self->state = c == EOL ? START_RECORD : EAT_CRNL;
            return 1;
        }
        if (self->quote_line <= self->line_num) {
            /* Text after a quote that closed a field begun on an earlier line: csv.reader
             * (strict=False) would glue it on, but the quote most likely opened this field
             * and the one on quote_line was never closed (strict=True refuses it too). */
            return 0;
        }
        self->state = IN_FIELD;
        return add_char(self, c);
    case EAT_CRNL:
        if (c == EOL) {
            self->state = START_RECORD;
        }
        return 1;  /* a line break: more of the same; nothing else can follow in a line */
    }
    return 1;
}

/* The `count` pieces of `text` that end at `ends`, each `gap` characters after the previous
 * one's end (1 to skip the '\n' between joined cells), as a list of str. */
static PyObject *
pieces_list(const Py_UCS4 *text, const Py_ssize_t *ends, Py_ssize_t count, Py_ssize_t gap)
{
    PyObject *list = PyList_New(count);
    if (list == NULL) {
        return NULL;
    }
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *piece = PyUnicode_FromKindAndData(
            PyUnicode_4BYTE_KIND, text + start, ends[i] - start);
        if (piece == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, piece);
        start = ends[i] + gap;
    }
    return list;
}

static PyObject *
fields_list(Reader *self)
{
    return pieces_list(self->record.data, self->field_ends, self->fields, 0);
}

/* Code point order, as Python compares str. */
static int
text_compare(const Py_UCS4 *a, Py_ssize_t a_length, const Py_UCS4 *b, Py_ssize_t b_length)
{
    Py_ssize_t shorter = a_length < b_length ? a_length : b_length;
    for (Py_ssize_t i = 0; i < shorter; i++) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return (a_length > b_length) - (a_length < b_length);
}

typedef struct {
    int negative;
    const Py_UCS4 *whole;   /* digits before the point, leading zeros skipped */
    Py_ssize_t whole_length;
    const Py_UCS4 *fraction;
    Py_ssize_t fraction_length;
    int zero;
} Number;

/* A plain number, -?digits[.digits]: 1 and `number` filled in, or 0. */
static int
number_parse(const Py_UCS4 *cell, Py_ssize_t length, Number *number)
{
    Py_ssize_t i = 0;
    number->negative = length > 0 && cell[0] == '-';
    i += number->negative;
    Py_ssize_t digits_start = i;
    while (i < length && cell[i] >= '0' && cell[i] <= '9') {
        i++;
    }
    if (i == digits_start) {
        return 0;
    }
    Py_ssize_t whole_start = digits_start;
    while (whole_start < i && cell[whole_start] == '0') {
        whole_start++;
    }
    number->whole = cell + whole_start;
    number->whole_length = i - whole_start;
    number->fraction = cell + i;
    number->fraction_length = 0;
    if (i < length) {
        if (cell[i] != '.') {
            return 0;
        }
        i++;
        Py_ssize_t fraction_start = i;
        while (i < length && cell[i] >= '0' && cell[i] <= '9') {
            i++;
        }
        if (i == fraction_start || i != length) {
            return 0;
        }
        number->fraction = cell + fraction_start;
        number->fraction_length = i - fraction_start;
    }
    number->zero = number->whole_length == 0;
    for (Py_ssize_t j = 0; number->zero && j < number->fraction_length; j++) {
        number->zero = number->fraction[j] == '0';
    }
    return 1;
}

/* Numeric order of two plain numbers (-0 equals 0). */
static int
number_compare(const Number *a, const Number *b)
{
    if (a->zero && b->zero) {
        return 0;
    }
    int a_sign = a->zero ? 0 : (a->negative ? -1 : 1);
    int b_sign = b->zero ? 0 : (b->negative ? -1 : 1);
    if (a_sign != b_sign) {
        return a_sign < b_sign ? -1 : 1;
    }
    int magnitude = 0;
    if (a->whole_length != b->whole_length) {
        magnitude = a->whole_length < b->whole_length ? -1 : 1;
    }
    else {
        magnitude = text_compare(a->whole, a->whole_length, b->whole, b->whole_length);
        Py_ssize_t longer = a->fraction_length > b->fraction_length
                                ? a->fraction_length : b->fraction_length;
        for (Py_ssize_t i = 0; magnitude == 0 && i < longer; i++) {
            Py_UCS4 x = i < a->fraction_length ? a->fraction[i] : '0';
            Py_UCS4 y = i < b->fraction_length ? b->fraction[i] : '0';
            magnitude = (x > y) - (x < y);
        }
    }
    return a_sign < 0 ? -magnitude : magnitude;
}

/* Fold one non-empty cell, at `offset` in the column's text, into the batch's summary. */
static void
summarize(ColumnBuffer *column, Py_ssize_t offset, Py_ssize_t length)
{
    const Py_UCS4 *text = column->text.data;
    const Py_UCS4 *cell = text + offset;
    int first = column->min_length < 0;
    if (first || length < column->min_length) {
        column->min_length = length;
    }
    if (length > column->max_length) {
        column->max_length = length;
    }
    if (first || text_compare(cell, length, text + column->text_min[0], column->text_min[1]) < 0) {
        column->text_min[0] = offset;
        column->text_min[1] = length;
    }
    if (first || text_compare(cell, length, text + column->text_max[0], column->text_max[1]) > 0) {
        column->text_max[0] = offset;
        column->text_max[1] = length;
    }
    if (!column->numbers) {
        return;
    }
    Number number, low, high;
    if (!number_parse(cell, length, &number)) {
        column->numbers = 0;
        return;
    }
    /* on ties the first cell stays, as min() and max() keep the first */
    if (first || (number_parse(text + column->number_min[0], column->number_min[1], &low)
                  && number_compare(&number, &low) < 0)) {
        column->number_min[0] = offset;
        column->number_min[1] = length;
    }
    if (first || (number_parse(text + column->number_max[0], column->number_max[1], &high)
                  && number_compare(&number, &high) > 0)) {
        column->number_max[0] = offset;
        column->number_max[1] = length;
    }
}

static PyObject *
span_text(ColumnBuffer *column, const Py_ssize_t span[2], int present)
{
    if (!present) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, column->text.data + span[0], span[1]);
}

/* (empty cells, shortest and longest non-empty length, code-point min and max, numeric min
 * and max or None unless every non-empty cell is a plain number), all over the batch. */
static PyObject *
summary_tuple(ColumnBuffer *column)
{
    int any = column->min_length >= 0;
    PyObject *items[] = {
        PyLong_FromSsize_t(column->empties),
        any ? PyLong_FromSsize_t(column->min_length) : Py_NewRef(Py_None),
        any ? PyLong_FromSsize_t(column->max_length) : Py_NewRef(Py_None),
        span_text(column, column->text_min, any),
        span_text(column, column->text_max, any),
        span_text(column, column->number_min, any && column->numbers),
        span_text(column, column->number_max, any && column->numbers),
    };
    const Py_ssize_t count = sizeof(items) / sizeof(items[0]);
    PyObject *summary = PyTuple_New(count);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (items[i] == NULL || summary == NULL) {
            for (Py_ssize_t j = i; j < count; j++) {
                Py_XDECREF(items[j]);
            }
            Py_XDECREF(summary);
            return NULL;
        }
        PyTuple_SET_ITEM(summary, i, items[i]);
    }
    return summary;
}

/* The summary the splitter would have made of a column given as its cells joined with '\n'
 * (cells made elsewhere, such as a JSON append's): one pass over the text, no str per cell. */
PyDoc_STRVAR(summarize_joined_doc,
"summarize_joined(joined) -> (empty cells, shortest and longest non-empty cell, their\n"
"code-point min and max, numeric min and max or None): read_batch's summary of a column whose\n"
"cells, none holding a line break, are joined with '\\n'.");

static PyObject *
summarize_joined(PyObject *Py_UNUSED(module), PyObject *joined)
{
    if (!PyUnicode_Check(joined)) {
        PyErr_SetString(PyExc_TypeError, "summarize_joined() takes a str");
        return NULL;
    }
    ColumnBuffer column;
    memset(&column, 0, sizeof(column));
    column.text.len = PyUnicode_GET_LENGTH(joined);
    column.text.data = PyUnicode_AsUCS4Copy(joined);
    if (column.text.data == NULL) {
        return NULL;
    }
    column.text.cap = column.text.len + 1;
    summary_reset(&column);
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= column.text.len; i++) {
        if (i < column.text.len && column.text.data[i] != '\n') {
            continue;
        }
        if (i > start) {
            summarize(&column, start, i - start);
        }
        else {
            column.empties++;
        }
        start = i + 1;
    }
    PyObject *summary = summary_tuple(&column);
    PyMem_Free(column.text.data);
    return summary;
}

static int
append_good(Reader *self)
{
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i < self->width; i++) {
        ColumnBuffer *column = &self->columns[i];
        Py_ssize_t end = self->field_ends[i];
        Py_ssize_t size = end - start;
        if (buffer_reserve(&column->text, size + 1) < 0) {
            return -1;
        }
        if (self->good) {
            column->text.data[column->text.len++] = '\n';
        }
        const Py_UCS4 *cell = self->record.data + start;
        for (Py_ssize_t j = 0; self->quoted_line_break && j < size; j++) {
            if (cell[j] == '\n') {
                column->has_line_break = 1;
                break;
            }
        }
        if (size) {
            memcpy(column->text.data + column->text.len, cell, size * sizeof(Py_UCS4));
            summarize(column, column->text.len, size);
        }
        else {
            column->empties++;
        }
        column->text.len += size;
        if (offsets_set(&column->ends, &column->ends_cap, self->good, column->text.len) < 0) {
            return -1;
        }
        start = end;
    }
    self->good++;
    return 0;
}

/* A finished record: onto the columns, or into `others` as (index, first, last, fields). */
static int
emit(Reader *self, Py_ssize_t index, PyObject *others)
{
    int result = 0;
    if (self->fields == self->width && self->width > 0) {
        result = append_good(self);
    }
    else if (others != NULL) {
        PyObject *fields = fields_list(self);
        if (fields == NULL) {
            return -1;
        }
        PyObject *item = Py_BuildValue(
            "(nnnN)", index, self->record_line, self->line_num, fields);
        if (item == NULL || PyList_Append(others, item) < 0) {
            result = -1;
        }
        Py_XDECREF(item);
    }
    record_reset(self);
    return result;
}

/* Inside a field most characters are plain: copy a run of them at once, up to the next
 * character the state machine must see (a line break, the delimiter outside quotes, a quote
 * inside them) or up to the record limit. Returns how many were taken (0: none, process()
 * takes the next character), -1 on error. */
#define PLAIN_RUN(TYPE)                                                                 \
    do {                                                                                \
        const TYPE *chars = (const TYPE *)self->data;                                   \
        /* up to the limit at most: read_record then reports the record as too long */  \
        Py_ssize_t room = self->record_limit - self->record_chars;                      \
        Py_ssize_t stop = self->length - start > room ? start + room : self->length;    \
        Py_ssize_t end = start;                                                         \
        if (quoted) {                                                                   \
            while (end < stop && chars[end] != '"' && chars[end] != '\n'               \
                   && chars[end] != '\r') {                                            \
                end++;                                                                  \
            }                                                                           \
        }                                                                               \
        else {                                                                          \
            while (end < stop && chars[end] != delimiter && chars[end] != '\n'         \
                   && chars[end] != '\r') {                                            \
                end++;                                                                  \
            }                                                                           \
        }                                                                               \
        count = end - start;                                                            \
        if (count <= 0) {                                                               \
            return 0;                                                                   \
        }                                                                               \
        if (buffer_reserve(&self->record, count) < 0) {                                 \
            return -1;                                                                  \
        }                                                                               \
        Py_UCS4 *out = self->record.data + self->record.len;                            \
        for (Py_ssize_t i = 0; i < count; i++) {                                        \
            out[i] = chars[start + i];                                                  \
        }                                                                               \
        self->record.len += count;                                                      \
        self->record_chars += count;                                                    \
    } while (0)

static Py_ssize_t
take_plain_run(Reader *self, Py_ssize_t start)
{
    const int quoted = self->state == IN_QUOTED;
    const Py_UCS4 delimiter = self->delimiter;
    Py_ssize_t count = 0;
    switch (self->kind) {
    case PyUnicode_1BYTE_KIND:
        PLAIN_RUN(Py_UCS1);
        break;
    case PyUnicode_2BYTE_KIND:
        PLAIN_RUN(Py_UCS2);
        break;
    default:
        PLAIN_RUN(Py_UCS4);
        break;
    }
    return count;
}

static int
next_block(Reader *self)
{
    Py_CLEAR(self->block);
    if (self->blocks == NULL) {  /* never initialized, or cleared by the collector */
        self->exhausted = 1;
        return 0;
    }
    PyObject *block = PyIter_Next(self->blocks);
    if (block == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        self->exhausted = 1;
        return 0;
    }
    Py_ssize_t start = 0;
    if (PyTuple_Check(block)) {  /* text read again: (block, start) */
        PyObject *text;
        if (!PyArg_ParseTuple(block, "Un", &text, &start)) {
            Py_DECREF(block);
            return -1;
        }
        Py_INCREF(text);
        Py_SETREF(block, text);
    }
    if (!PyUnicode_Check(block)) {
        Py_DECREF(block);
        PyErr_SetString(PyExc_TypeError, "blocks must be str or (str, start)");
        return -1;
    }
    self->block = block;
    self->kind = PyUnicode_KIND(block);
    self->data = PyUnicode_DATA(block);
    self->length = PyUnicode_GET_LENGTH(block);
    self->position = start < 0 ? 0 : (start > self->length ? self->length : start);
    return 1;
}

/* Stop reading the record for a problem (see the top of this file); 2 for read_record. */
static int
give_up(Reader *self, int problem, Py_ssize_t quote_line)
{
    self->problem = problem;
    self->problem_first = self->record_line;
    self->problem_last = quote_line;
    self->problem_at = self->line_num + (self->line_open ? 1 : 0);
    record_reset(self);
    return 2;
}

/* Whether the character before `position` ends a line: '\n', or '\r' not followed by '\n'. */
static int
ends_line(int kind, const void *data, Py_ssize_t position, Py_ssize_t length, Py_UCS4 c)
{
    return c == '\n' || (c == '\r' && (position >= length
                                       || PyUnicode_READ(kind, data, position) != '\n'));
}

/* Skip the rest of the current line (a block always ends a line). */
static void
skip_line(Reader *self)
{
    while (self->position < self->length) {
        Py_UCS4 c = PyUnicode_READ(self->kind, self->data, self->position);
        self->position++;
        if (ends_line(self->kind, self->data, self->position, self->length, c)) {
            break;
        }
    }
    self->line_open = 0;
    self->line_num++;
}

/* Before the next character of the record: 0 to go on, or 2 for a problem (see give_up). */
static int
check_limits(Reader *self)
{
    int further_line = self->line_num >= self->record_line;
    if (further_line && !self->line_open) {  /* a line starts inside a quoted field */
        if (self->line_num - self->record_line + 1 >= self->max_lines) {
            return give_up(self, PROBLEM_LINES, self->quote_line);
        }
        self->line_quote = self->quote_line;
    }
    if (self->record_chars < self->record_limit) {
        return 0;
    }
    if (further_line) {
        return give_up(self, PROBLEM_SIZE, self->line_quote);
    }
    skip_line(self);
    return give_up(self, PROBLEM_LONG, self->record_line);
}

/* Read up to the end of one record.
 * 1: a record ended (self->fields etc. hold it); 0: the input is over, no record;
 * 2: a problem (self->problem etc.; the record is dropped); -1: error. */
static int
read_record(Reader *self)
{
    for (;;) {
        if (self->block == NULL || self->position >= self->length) {
            if (self->line_open) {  /* a block always ends a line */
                self->line_open = 0;
                self->line_num++;
                if (process(self, EOL) < 0) {
                    return -1;
                }
                if (self->state == START_RECORD) {
                    return 1;
                }
            }
            if (self->exhausted) {
                return 0;
            }
            int got = next_block(self);
            if (got < 0) {
                return -1;
            }
            if (got == 0) {
                if (self->state == IN_QUOTED) {
                    return give_up(self, PROBLEM_EOF, self->quote_line);
                }
                return 0;
            }
            continue;
        }
        if (self->state == START_RECORD && !self->line_open) {
            self->record_line = self->line_num + 1;
        }
        const int kind = self->kind;
        const void *data = self->data;
        Py_ssize_t position = self->position;
        const Py_ssize_t length = self->length;
        while (position < length) {
            if (!self->line_open || self->record_chars >= self->record_limit) {
                self->position = position;
                if (check_limits(self) == 2) {
                    return 2;
                }
            }
            if (self->state == IN_FIELD || self->state == IN_QUOTED) {
                Py_ssize_t taken = take_plain_run(self, position);
                if (taken < 0) {
                    self->position = position;
                    return -1;
                }
                if (taken > 0) {
                    position += taken;
                    self->line_open = 1;
                    continue;
                }
            }
            Py_UCS4 c = PyUnicode_READ(kind, data, position);
            position++;
            self->line_open = 1;
            self->record_chars++;
            int done = process(self, c);
            if (done <= 0) {
                self->position = position;
                return done < 0 ? -1 : give_up(self, PROBLEM_TEXT, self->quote_line);
            }
            if (ends_line(kind, data, position, length, c)) {
                self->line_open = 0;
                self->line_num++;
                if (process(self, EOL) < 0) {
                    self->position = position;
                    return -1;
                }
                if (self->state == START_RECORD) {
                    self->position = position;
                    return 1;
                }
            }
        }
        self->position = position;
    }
}

static PyObject *
column_part(ColumnBuffer *column, Py_ssize_t count)
{
    if (!column->has_line_break) {
        return PyUnicode_FromKindAndData(
            PyUnicode_4BYTE_KIND, column->text.data, column->text.len);
    }
    return pieces_list(column->text.data, column->ends, count, 1);
}

/* As restart(): read on from the blocks iterator as from line line_num + 1. */
static void
restart_at(Reader *self, Py_ssize_t line_num)
{
    Py_CLEAR(self->block);
    self->position = 0;
    self->length = 0;
    self->line_open = 0;
    self->exhausted = 0;
    self->line_num = line_num;
    record_reset(self);
}

/* A record given up: onto `given_up` as (index, first line, quote line, kind); for a quote
 * never closed, `again(quote line)` hands the lines after it back and reading restarts there,
 * within the same batch (ending the batch instead made a file of many broken quotes one
 * batch per quote). */
static int
take_given_up(Reader *self, Py_ssize_t index, PyObject *given_up, PyObject *again)
{
    PyObject *item = Py_BuildValue("(nnnsn)", index, self->problem_first, self->problem_last,
                                   PROBLEM_NAMES[self->problem], self->problem_at);
    if (item == NULL || PyList_Append(given_up, item) < 0) {
        Py_XDECREF(item);
        return -1;
    }
    Py_DECREF(item);
    if (self->problem == PROBLEM_LONG) {
        return 0;  /* its line was skipped; the next one starts a record */
    }
    PyObject *done = PyObject_CallFunction(again, "n", self->problem_last);
    if (done == NULL) {
        return -1;
    }
    Py_DECREF(done);
    restart_at(self, self->problem_last);
    return 0;
}

PyDoc_STRVAR(read_batch_doc,
"read_batch(max_records, width, max_chars, again) -> (parts, good, others, given_up, summaries,\n"
"chars)\n"
"or None\n\n"
"Up to max_records records (blank lines count, as with csv.reader), ending after the record\n"
"that brings the batch's characters (its records' lines as written) to max_chars. parts: per\n"
"column, the good records' cells joined with '\\n', or their list when a cell holds '\\n'\n"
"(None when no record was good); good: how many records had `width` fields; others: (index,\n"
"first line, last line, fields) for every other record; given_up: (index, first line, quote\n"
"line, kind, line where the problem was found) for each record given up (kind: long, eof, lines, size or text; see the top of\n"
"the source); for any kind but long, again(quote line) is called to hand the lines after the\n"
"quote line back to the blocks iterator, and reading goes on from them in the same batch.\n"
"summaries: per column, (empty cells, shortest and longest non-empty cell, their code-point\n"
"min and max, and their numeric min and max when all are plain numbers, -?digits[.digits]),\n"
"or None; chars: the characters of the batch's records (not of a record given up).");

static PyObject *
Reader_read_batch(Reader *self, PyObject *args)
{
    Py_ssize_t max_records, width, max_chars;
    PyObject *again;
    if (!PyArg_ParseTuple(args, "nnnO", &max_records, &width, &max_chars, &again)) {
        return NULL;
    }
    if (width < 1 || max_records < 1 || max_chars < 1) {
        PyErr_SetString(PyExc_ValueError, "max_records, width and max_chars must be positive");
        return NULL;
    }
    if (columns_prepare(self, width) < 0) {
        return NULL;
    }
    PyObject *others = PyList_New(0);
    if (others == NULL) {
        return NULL;
    }
    PyObject *error = PyList_New(0);  /* the records given up */
    if (error == NULL) {
        Py_DECREF(others);
        return NULL;
    }
    Py_ssize_t records = 0;
    self->batch_chars = 0;
    while (records < max_records && self->batch_chars < max_chars) {
        int got = read_record(self);
        if (got < 0) {
            goto fail;
        }
        if (got == 0) {
            break;
        }
        if (got == 2) {
            if (take_given_up(self, records, error, again) < 0) {
                goto fail;
            }
            records++;
            continue;
        }
        self->batch_chars += self->record_chars;
        if (emit(self, records, others) < 0) {
            goto fail;
        }
        records++;
    }
    if (records == 0) {
        Py_DECREF(others);
        Py_DECREF(error);
        Py_RETURN_NONE;
    }
    PyObject *parts;
    if (self->good) {
        parts = PyList_New(width);
        if (parts == NULL) {
            goto fail;
        }
        for (Py_ssize_t i = 0; i < width; i++) {
            PyObject *part = column_part(&self->columns[i], self->good);
            if (part == NULL) {
                Py_DECREF(parts);
                goto fail;
            }
            PyList_SET_ITEM(parts, i, part);
        }
    }
    else {
        parts = Py_None;
        Py_INCREF(parts);
    }
    PyObject *summaries = Py_None;
    Py_INCREF(summaries);
    if (self->good) {
        Py_DECREF(summaries);
        summaries = PyList_New(width);
        if (summaries == NULL) {
            Py_DECREF(parts);
            goto fail;
        }
        for (Py_ssize_t i = 0; i < width; i++) {
            PyObject *summary = summary_tuple(&self->columns[i]);
            if (summary == NULL) {
                Py_DECREF(parts);
                Py_DECREF(summaries);
                goto fail;
            }
            PyList_SET_ITEM(summaries, i, summary);
        }
    }
    return Py_BuildValue("(NnNNNn)", parts, self->good, others, error, summaries,
                         self->batch_chars);
fail:
    Py_DECREF(others);
    Py_XDECREF(error);
    record_reset(self);
    return NULL;
}

PyDoc_STRVAR(read_record_doc,
"read_record() -> (fields, first line, last line, None, last line), or None at the end.\n\n"
"One record, whatever its width (the header); a record given up comes back as\n"
"(None, first line, quote line, kind, line where the problem was found), as in read_batch.");

static PyObject *
Reader_read_record(Reader *self, PyObject *Py_UNUSED(ignored))
{
    int got = read_record(self);
    if (got < 0) {
        record_reset(self);
        return NULL;
    }
    if (got == 0) {
        return Py_BuildValue("");
    }
    if (got == 2) {
        return Py_BuildValue("(Onnsn)", Py_None, self->problem_first, self->problem_last,
                             PROBLEM_NAMES[self->problem], self->problem_at);
    }
    PyObject *fields = fields_list(self);
    Py_ssize_t first = self->record_line;
    record_reset(self);
    if (fields == NULL) {
        return NULL;
    }
    return Py_BuildValue("(NnnOn)", fields, first, self->line_num, Py_None, self->line_num);
}

PyDoc_STRVAR(restart_doc,
"restart(line_num)\n\n"
"Drop the block being read and any record begun, and read on from the blocks iterator as\n"
"from line line_num + 1 (the caller hands the lines after a given-up record's quote line\n"
"back to it first).");

static PyObject *
Reader_restart(Reader *self, PyObject *args)
{
    Py_ssize_t line_num;
    if (!PyArg_ParseTuple(args, "n", &line_num)) {
        return NULL;
    }
    restart_at(self, line_num);
    Py_RETURN_NONE;
}

static int
Reader_init(Reader *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"blocks", "delimiter", "record_limit", "max_lines", NULL};
    PyObject *blocks;
    PyObject *delimiter;
    Py_ssize_t record_limit, max_lines;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OUnn", keywords,
                                     &blocks, &delimiter, &record_limit, &max_lines)) {
        return -1;
    }
    if (PyUnicode_GET_LENGTH(delimiter) != 1) {
        PyErr_SetString(PyExc_ValueError, "the delimiter must be one character");
        return -1;
    }
    Py_UCS4 d = PyUnicode_READ_CHAR(delimiter, 0);
    if (d == '"' || d == '\n' || d == '\r') {
        PyErr_SetString(PyExc_ValueError, "the delimiter cannot be a quote or a line break");
        return -1;
    }
    if (record_limit < 1 || max_lines < 1) {
        PyErr_SetString(PyExc_ValueError, "record_limit and max_lines must be positive");
        return -1;
    }
    PyObject *iterator = PyObject_GetIter(blocks);
    if (iterator == NULL) {
        return -1;
    }
    Py_XSETREF(self->blocks, iterator);
    self->delimiter = d;
    self->record_limit = record_limit;
    self->max_lines = max_lines;
    record_reset(self);
    return 0;
}

/* The blocks iterator usually refers back to the Python reader that holds this one: the
 * collector must see that cycle, or every upload's reader and buffers would stay. */
static int
Reader_traverse(Reader *self, visitproc visit, void *arg)
{
    Py_VISIT(self->blocks);
    Py_VISIT(self->block);
    return 0;
}

static int
Reader_clear(Reader *self)
{
    Py_CLEAR(self->blocks);
    Py_CLEAR(self->block);
    return 0;
}

static void
Reader_dealloc(Reader *self)
{
    PyObject_GC_UnTrack(self);
    Reader_clear(self);
    PyMem_Free(self->record.data);
    PyMem_Free(self->field_ends);
    columns_free(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Reader_get_line_num(Reader *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->line_num);
}

static PyMethodDef Reader_methods[] = {
    {"read_batch", (PyCFunction)Reader_read_batch, METH_VARARGS, read_batch_doc},
    {"read_record", (PyCFunction)Reader_read_record, METH_NOARGS, read_record_doc},
    {"restart", (PyCFunction)Reader_restart, METH_VARARGS, restart_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Reader_getset[] = {
    {"line_num", (getter)Reader_get_line_num, NULL, "lines read to their end", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "csvhub.csvread._splitter.Reader",
    .tp_doc = PyDoc_STR("Reader(blocks, delimiter, record_limit, max_lines): CSV records as columns."),
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Reader_traverse,
    .tp_clear = (inquiry)Reader_clear,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Reader_init,
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_methods = Reader_methods,
    .tp_getset = Reader_getset,
};

/* -- counting the distinct lines of joined cells --------------------------------------- */

/* An insert that probes this many slots gives up: lines chosen to collide (the hash is not
 * keyed) would otherwise make counting quadratic. Python's dict, keyed per process, counts
 * them instead (columns.line_counts). Ordinary text probes a few slots at half load. */
#define LINE_PROBES_MAX 64

/* One distinct line (or line prefix) of the text: where it is, its hash, how often seen. */
typedef struct {
    Py_ssize_t offset; /* in characters */
    Py_ssize_t length;
    Py_ssize_t count;
    uint64_t hash;
} LineCount;

/* Lines of one str, read in place: its characters are `kind` bytes wide. The distinct lines
 * are kept in the order met (`lines`), found through `slots`, an open-addressing index of
 * 32-bit entries (0: free, else 1 + the line's place): twice the text's lines, which a batch's
 * rows bound (the reader's and an append's batch sizes), so a 20,000-row batch's index is
 * 256 KiB that stays in cache, where whole entries in the slots took 2 MiB. */
typedef struct {
    const char *data;
    int kind;
    uint32_t *slots;
    size_t mask;
    LineCount *lines;
    Py_ssize_t used;
} LineTable;

/* A hash of the line's bytes, read eight at a time (a line is hashed once per occurrence, so
 * this is most of the counting's time), then mixed so that the slot (the low bits) depends on
 * every byte. Not keyed: see LINE_PROBES_MAX. */
static uint64_t
line_hash(const LineTable *table, Py_ssize_t offset, Py_ssize_t length)
{
    const unsigned char *bytes = (const unsigned char *)table->data + offset * table->kind;
    size_t size = (size_t)(length * table->kind);
    uint64_t hash = 0x9e3779b97f4a7c15ULL ^ size;
    while (size >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        hash = (hash ^ word) * 0xff51afd7ed558ccdULL;
        hash ^= hash >> 29;
        bytes += 8;
        size -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, bytes, size);
    hash = (hash ^ tail) * 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    return hash;
}

/* Count one line; 0 when it took more than LINE_PROBES_MAX probes (the count is given up). */
static int
line_table_add(LineTable *table, Py_ssize_t offset, Py_ssize_t length)
{
    uint64_t hash = line_hash(table, offset, length);
    size_t slot = (size_t)hash & table->mask;
    for (int probes = 0; probes < LINE_PROBES_MAX; probes++) {
        uint32_t place = table->slots[slot];
        if (place == 0) {
            table->lines[table->used] = (LineCount){offset, length, 1, hash};
            table->slots[slot] = (uint32_t)++table->used;
            return 1;
        }
        LineCount *entry = &table->lines[place - 1];
        if (entry->hash == hash && entry->length == length
            && memcmp(table->data + entry->offset * table->kind,
                      table->data + offset * table->kind, (size_t)(length * table->kind)) == 0) {
            entry->count++;
            return 1;
        }
        slot = (slot + 1) & table->mask;
    }
    return 0;
}

/* The (kept + 1)-th largest count (0 when there are no more than `kept`): what Misra-Gries
 * takes off every count. A small sorted array of the largest counts seen (kept is small). */
static Py_ssize_t
misra_gries_cut(const LineTable *table, Py_ssize_t kept)
{
    if (kept < 0 || table->used <= kept) {
        return 0;
    }
    Py_ssize_t *largest = PyMem_Calloc((size_t)kept + 1, sizeof(Py_ssize_t));
    if (largest == NULL) {
        return -1;
    }
    Py_ssize_t filled = 0; /* largest[0..filled) in descending order */
    for (Py_ssize_t i = 0; i < table->used; i++) {
        Py_ssize_t count = table->lines[i].count;
        if (filled == kept + 1 && count <= largest[kept]) {
            continue;
        }
        Py_ssize_t at = filled < kept + 1 ? filled++ : kept;
        while (at > 0 && largest[at - 1] < count) {
            largest[at] = largest[at - 1];
            at--;
        }
        largest[at] = count;
    }
    Py_ssize_t cut = largest[kept];
    PyMem_Free(largest);
    return cut;
}

static PyObject *
line_counts_dict(const LineTable *table, Py_ssize_t cut)
{
    PyObject *counts = PyDict_New();
    for (Py_ssize_t i = 0; counts != NULL && i < table->used; i++) {
        const LineCount *entry = &table->lines[i];
        if (entry->count <= cut) {
            continue;
        }
        PyObject *line = PyUnicode_FromKindAndData(
            table->kind, table->data + entry->offset * table->kind, entry->length);
        PyObject *count = line == NULL ? NULL : PyLong_FromSsize_t(entry->count - cut);
        if (count == NULL || PyDict_SetItem(counts, line, count) < 0) {
            Py_CLEAR(counts);
        }
        Py_XDECREF(line);
        Py_XDECREF(count);
    }
    return counts;
}

/* Where the line starting at `start` ends: its '\n', or `length`. */
static Py_ssize_t
line_end(const LineTable *table, Py_ssize_t start, Py_ssize_t length)
{
    if (table->kind == PyUnicode_1BYTE_KIND) {
        const char *found = memchr(table->data + start, '\n', (size_t)(length - start));
        return found == NULL ? length : found - table->data;
    }
    Py_ssize_t i = start;
    while (i < length && PyUnicode_READ(table->kind, table->data, i) != '\n') {
        i++;
    }
    return i;
}

/* Count the lines of the table's text into its lines (found through its slots); 0 when an
 * insert gave up. */
static int
count_into(LineTable *table, Py_ssize_t length, Py_ssize_t prefix, Py_ssize_t max_length)
{
    for (Py_ssize_t start = 0; start <= length;) {
        Py_ssize_t end = line_end(table, start, length);
        Py_ssize_t line = end - start;
        if (line > 0 && (max_length < 0 || line <= max_length)
            && !line_table_add(table, start, prefix > 0 && line > prefix ? prefix : line)) {
            return 0;
        }
        start = end + 1;
    }
    return 1;
}

/* The number of lines of the table's text (line breaks + 1). */
static Py_ssize_t
line_count(const LineTable *table, Py_ssize_t length)
{
    Py_ssize_t lines = 1;
    for (Py_ssize_t start = 0; start < length; lines++) {
        Py_ssize_t end = line_end(table, start, length);
        if (end == length) {
            break;
        }
        start = end + 1;
    }
    return lines;
}

PyDoc_STRVAR(count_lines_doc,
"count_lines(joined, prefix, max_length, kept) -> (counts, cut) or None: how often each\n"
"distinct non-empty line of `joined` occurs, without a str per line. A line longer than\n"
"max_length (-1: no limit) is not counted; with prefix > 0, only a line's first `prefix`\n"
"characters are. With kept >= 0, Misra-Gries: cut is the (kept + 1)-th largest count (0 when\n"
"there are no more distinct lines than kept), and counts holds only the lines counted more\n"
"often than that, less cut; with kept < 0, every line with its count, and cut 0. None when\n"
"the lines collide in the hash table too often to count them quickly, or are more than its\n"
"32-bit index holds (count them in Python).");

static PyObject *
count_lines(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *joined;
    Py_ssize_t prefix, max_length, kept;
    if (!PyArg_ParseTuple(args, "Unnn:count_lines", &joined, &prefix, &max_length, &kept)) {
        return NULL;
    }
    LineTable table = {PyUnicode_DATA(joined), PyUnicode_KIND(joined), NULL, 0, NULL, 0};
    Py_ssize_t length = PyUnicode_GET_LENGTH(joined);
    Py_ssize_t lines = line_count(&table, length);
    if (lines >= (Py_ssize_t)(UINT32_MAX / 2)) {
        Py_RETURN_NONE; /* more than the 32-bit index holds (a text of gigabytes): Python counts */
    }
    size_t capacity = 16;
    while (capacity < (size_t)lines * 2) {
        capacity *= 2;
    }
    table.slots = PyMem_Calloc(capacity, sizeof(uint32_t));
    table.mask = capacity - 1;
    table.lines = PyMem_Malloc((size_t)lines * sizeof(LineCount));
    PyObject *result = NULL;
    if (table.slots == NULL || table.lines == NULL) {
        result = PyErr_NoMemory();
    }
    else if (!count_into(&table, length, prefix, max_length)) {
        result = Py_NewRef(Py_None);
    }
    else {
        Py_ssize_t cut = misra_gries_cut(&table, kept);
        PyObject *counts = cut < 0 ? PyErr_NoMemory() : line_counts_dict(&table, cut);
        if (counts != NULL) {
            result = Py_BuildValue("(Nn)", counts, cut);
        }
    }
    PyMem_Free(table.slots);
    PyMem_Free(table.lines);
    return result;
}

/* -- proving a column of numbers ------------------------------------------------------- */

static int
is_digit(Py_UCS1 c)
{
    return c >= '0' && c <= '9';
}

/* Whether a line (not empty) is an integer as formats.INTEGER writes it: a sign, then 0 or up
 * to 19 digits without a leading zero. */
static int
integer_line(const Py_UCS1 *line, Py_ssize_t length)
{
    Py_ssize_t i = line[0] == '+' || line[0] == '-';
    if (i == length) {
        return 0;
    }
    if (line[i] == '0') {
        return i + 1 == length;
    }
    if (length - i > 19) {
        return 0;
    }
    for (; i < length; i++) {
        if (!is_digit(line[i])) {
            return 0;
        }
    }
    return 1;
}

/* Whether a line (not empty) is a decimal as formats.DECIMAL writes it: a sign, a whole part
 * (0, or digits without a leading zero) and/or a point with digits, then maybe an exponent of
 * 1 to 3 digits. The grammar is read left to right without going back, as the regex does. */
static int
decimal_line(const Py_UCS1 *line, Py_ssize_t length)
{
    Py_ssize_t i = line[0] == '+' || line[0] == '-';
    Py_ssize_t whole = i;
    if (i < length && line[i] == '0') {
        i++;
    }
    else {
        while (i < length && is_digit(line[i])) {
            i++;
        }
    }
    int has_whole = i > whole;
    if (i < length && line[i] == '.') {
        Py_ssize_t fraction = ++i;
        while (i < length && is_digit(line[i])) {
            i++;
        }
        if (!has_whole && i == fraction) {
            return 0;
        }
    }
    else if (!has_whole) {
        return 0;
    }
    if (i < length && (line[i] == 'e' || line[i] == 'E')) {
        i++;
        i += i < length && (line[i] == '+' || line[i] == '-');
        Py_ssize_t exponent = i;
        while (i < length && i - exponent < 3 && is_digit(line[i])) {
            i++;
        }
        if (i == exponent) {
            return 0;
        }
    }
    return i == length;
}

PyDoc_STRVAR(numbers_fit_doc,
"numbers_fit(joined, decimal) -> bool: whether every line of `joined` (a column's cells\n"
"joined with '\\n') is empty or a number of formats.INTEGER (decimal False) or\n"
"formats.DECIMAL (decimal True): what column_pattern of that grammar fullmatches, in one\n"
"pass without a regex.");

static PyObject *
numbers_fit(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *joined;
    int decimal;
    if (!PyArg_ParseTuple(args, "Up:numbers_fit", &joined, &decimal)) {
        return NULL;
    }
    if (PyUnicode_KIND(joined) != PyUnicode_1BYTE_KIND) {
        Py_RETURN_FALSE; /* a character above U+00FF is in it, and in no number */
    }
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(joined);
    Py_ssize_t length = PyUnicode_GET_LENGTH(joined);
    int (*fits)(const Py_UCS1 *, Py_ssize_t) = decimal ? decimal_line : integer_line;
    for (Py_ssize_t start = 0; start <= length;) {
        const Py_UCS1 *found = memchr(text + start, '\n', (size_t)(length - start));
        Py_ssize_t end = found == NULL ? length : found - text;
        if (end > start && !fits(text + start, end - start)) {
            Py_RETURN_FALSE;
        }
        start = end + 1;
    }
    Py_RETURN_TRUE;
}

/* -- proving a column of ISO dates or timestamps of one layout -------------------------- */

/* The digit at `offset` of a line, as a number. */
static int
digit_at(const Py_UCS1 *line, Py_ssize_t offset)
{
    return line[offset] - '0';
}

/* Whether a line of layout '0000-00-00...' is a real calendar day (and clock time): the
 * rules of fixed_width._valid, one line at a time. */
static int
valid_day_and_time(const Py_UCS1 *line, int with_time)
{
    int year = digit_at(line, 0) * 1000 + digit_at(line, 1) * 100 + digit_at(line, 2) * 10
               + digit_at(line, 3);
    int month = digit_at(line, 5) * 10 + digit_at(line, 6);
    int day = digit_at(line, 8) * 10 + digit_at(line, 9);
    static const int days_in[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year == 0 || month < 1 || month > 12 || day < 1 || day > days_in[month]) {
        return 0;
    }
    if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) {
        return 0;
    }
    if (!with_time) {
        return 1;
    }
    int hour = digit_at(line, 11) * 10 + digit_at(line, 12);
    return hour <= 23 && digit_at(line, 14) <= 5 && digit_at(line, 17) <= 5;
}

PyDoc_STRVAR(layout_fits_doc,
"layout_fits(joined, layout, count, with_time) -> bool: whether `joined` is `count` lines\n"
"(joined with '\\n'), each written in `layout` (an ISO layout with '0' for every digit, as\n"
"fixed_width.layout_fit finds it: ASCII digits where it has '0', its other characters as\n"
"they are) and each a real day, and with_time a real clock time: what fixed_width's\n"
"translate-and-compare and _valid tell, in one pass, for the layouts layout_fit passes (its\n"
"_LAYOUT, with_time for every layout but the date's); others are not checked for.");

static PyObject *
layout_fits(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *joined, *layout_text;
    Py_ssize_t count;
    int with_time;
    if (!PyArg_ParseTuple(args, "UUnp:layout_fits", &joined, &layout_text, &count, &with_time)) {
        return NULL;
    }
    Py_ssize_t width = PyUnicode_GET_LENGTH(layout_text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(joined);
    if (PyUnicode_KIND(joined) != PyUnicode_1BYTE_KIND
        || PyUnicode_KIND(layout_text) != PyUnicode_1BYTE_KIND || width < (with_time ? 19 : 10)
        || count < 1 || (length + 1) % (width + 1) != 0 || (length + 1) / (width + 1) != count) {
        Py_RETURN_FALSE;
    }
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(joined);
    const Py_UCS1 *layout = PyUnicode_1BYTE_DATA(layout_text);
    for (Py_ssize_t line = 0; line < count; line++) {
        const Py_UCS1 *cells = text + line * (width + 1);
        for (Py_ssize_t i = 0; i < width; i++) {
            if (layout[i] == '0' ? !is_digit(cells[i]) : cells[i] != layout[i]) {
                Py_RETURN_FALSE;
            }
        }
        if ((line + 1 < count && cells[width] != '\n') || !valid_day_and_time(cells, with_time)) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* -- counting bytes -------------------------------------------------------------------- */

PyDoc_STRVAR(non_ascii_bytes_doc,
"non_ascii_bytes(data) -> int: how many bytes of `data` are 0x80 or above.");

static PyObject *
non_ascii_bytes(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*:non_ascii_bytes", &data)) {
        return NULL;
    }
    const unsigned char *bytes = data.buf;
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < data.len; i++) {
        count += bytes[i] >> 7;
    }
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(count);
}

PyDoc_STRVAR(line_breaks_doc,
"line_breaks(text) -> int: how many '\\n' `text` holds, as text.count('\\n') says, in\n"
"one pass the compiler vectorizes (str.count reads a character at a time): the check that\n"
"every joined column of a batch holds its number of cells costs a read of the batch.");

/* The same loop for each width of character. Each block of 255 characters is counted in
 * an 8-bit sum, which gcc -O3 turns into byte-wide vector compares (a wide counter per
 * character vectorizes too, but at half the speed). */
#define COUNT_NEWLINES(type, data, length, count)                                            \
    do {                                                                                       \
        const type *chars = (const type *)(data);                                              \
        for (Py_ssize_t start = 0; start < (length); start += 255) {                           \
            Py_ssize_t end = (length) - start < 255 ? (length) : start + 255;                  \
            unsigned char block = 0;                                                           \
            for (Py_ssize_t i = start; i < end; i++) {                                         \
                block += chars[i] == '\n';                                                     \
            }                                                                                  \
            (count) += block;                                                                  \
        }                                                                                      \
    } while (0)

static PyObject *
line_breaks(PyObject *Py_UNUSED(module), PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "line_breaks() takes a str");
        return NULL;
    }
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_ssize_t count = 0;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        COUNT_NEWLINES(Py_UCS1, data, length, count);
        break;
    case PyUnicode_2BYTE_KIND:
        COUNT_NEWLINES(Py_UCS2, data, length, count);
        break;
    default:
        COUNT_NEWLINES(Py_UCS4, data, length, count);
        break;
    }
    return PyLong_FromSsize_t(count);
}

static PyMethodDef module_methods[] = {
    {"summarize_joined", (PyCFunction)summarize_joined, METH_O, summarize_joined_doc},
    {"count_lines", (PyCFunction)count_lines, METH_VARARGS, count_lines_doc},
    {"numbers_fit", (PyCFunction)numbers_fit, METH_VARARGS, numbers_fit_doc},
    {"layout_fits", (PyCFunction)layout_fits, METH_VARARGS, layout_fits_doc},
    {"non_ascii_bytes", (PyCFunction)non_ascii_bytes, METH_VARARGS, non_ascii_bytes_doc},
    {"line_breaks", (PyCFunction)line_breaks, METH_O, line_breaks_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "csvhub.csvread._splitter",
    .m_doc = "CSV records split straight into columns (see reader.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__splitter(void)
{
    if (PyType_Ready(&ReaderType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
