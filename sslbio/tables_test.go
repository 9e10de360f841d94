package sslbio

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	sslerr "github.com/sslbio/sslbio/error"
)

// headerTable reads the rows X(NAME, value, "text") of one table macro of
// include/sslbio.h: the single source every face derives from.
func headerTable(t *testing.T, macro string) map[string]int {
	src, err := os.ReadFile("../include/sslbio.h")
	require.NoError(t, err)
	body := regexp.MustCompile(`(?s)#define ` + macro + `\(X\)(.*?)\n\n`).FindSubmatch(src)
	require.NotNil(t, body, "table %s not found in the header", macro)
	rows := map[string]int{}
	for _, m := range regexp.MustCompile(`X\((\w+), (-?\d+), "`).FindAllSubmatch(body[1], -1) {
		v, err := strconv.Atoi(string(m[2]))
		require.NoError(t, err)
		rows[string(m[1])] = v
	}
	require.NotEmpty(t, rows)
	return rows
}

func TestStatusesAgreeWithHeader(t *testing.T) {
	rows := headerTable(t, "SSLBIO_STATUS_TABLE")
	for name, v := range rows {
		require.Equal(t, "SSLBIO_"+name, cStatusName(v), "status %d", v)
	}
	// The sentinels the Go face maps statuses to.
	goFace := map[string]int{"OK": 0, "WANT_READ": -1, "WANT_WRITE": -2, "CLOSED": -3,
		"TRUNCATED": -4, "ERROR": -5, "EINVAL": -6, "ENOMEM": -7}
	for name, v := range goFace {
		require.Equal(t, rows[name], v, "SSLBIO_%s", name)
	}
	require.Equal(t, "unknown status", cStatusName(1))
}

func TestKindsAgreeWithHeader(t *testing.T) {
	rows := headerTable(t, "SSLBIO_KIND_TABLE")
	goKinds := map[string]sslerr.Kind{
		"NONE": sslerr.KindNone, "SSL": sslerr.KindSSL, "SYSCALL": sslerr.KindSyscall,
		"VERIFY": sslerr.KindVerify, "TRUNCATED": sslerr.KindTruncated,
		"TRANSPORT": sslerr.KindTransport, "INVALID": sslerr.KindInvalid,
		"NOMEM": sslerr.KindNoMemory, "WANT_READ": sslerr.KindWantRead,
		"WANT_WRITE": sslerr.KindWantWrite, "CLOSED": sslerr.KindClosed,
	}
	require.Len(t, goKinds, len(rows), "sslerr has a kind per header row")
	for name, v := range rows {
		k, ok := goKinds[name]
		require.True(t, ok, "header kind %s has no sslerr.Kind", name)
		require.Equal(t, v, int(k), "SSLBIO_KIND_%s", name)
		require.Equal(t, cKindName(v), k.String(), "name of SSLBIO_KIND_%s", name)
	}
	require.Equal(t, "unknown kind", cKindName(len(rows)))
}
