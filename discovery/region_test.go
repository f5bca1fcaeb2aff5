package discovery

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDetectRegion(t *testing.T) {
	const zi = "/usr/share/zoneinfo/"
	tests := []struct {
		name      string
		tables    bool
		tz        string
		localtime string            // target of /etc/localtime; "" none
		timezone  string            // content of /etc/timezone; "" none
		extra     func(r *fakeRoot) // more setup
		want      Region
		note      string // a note expected when no country is found
	}{
		{name: "TZ name", tables: true, tz: "Europe/Berlin",
			want: Region{TZ: "Europe/Berlin", From: FromTZ, Country: "de", CountryName: "Germany", Continent: "europe"}},
		{name: "TZ with colon", tables: true, tz: ":Asia/Kolkata",
			want: Region{TZ: "Asia/Kolkata", From: FromTZ, Country: "in", CountryName: "India", Continent: "asia"}},
		{name: "TZ path", tables: true, tz: zi + "America/Sao_Paulo",
			want: Region{TZ: "America/Sao_Paulo", From: FromTZ, Country: "br", CountryName: "Brazil", Continent: "south-america"}},
		{name: "TZ path to a link", tables: true, tz: "/etc/mytz",
			extra: func(r *fakeRoot) { r.symlink("/etc/mytz", zi+"Pacific/Auckland") },
			want:  Region{TZ: "Pacific/Auckland", From: FromTZ, Country: "nz", CountryName: "New Zealand", Continent: "oceania"}},
		{name: "TZ beats localtime", tables: true, tz: "Asia/Tokyo", localtime: zi + "Europe/Paris",
			want: Region{TZ: "Asia/Tokyo", From: FromTZ, Country: "jp", CountryName: "Japan", Continent: "asia"}},
		{name: "TZ UTC says nothing, localtime speaks", tables: true, tz: "UTC", localtime: zi + "Europe/Paris",
			want: Region{TZ: "Europe/Paris", From: FromLocaltime, Country: "fr", CountryName: "France", Continent: "europe"}},
		{name: "TZ Etc offset falls through", tables: true, tz: "Etc/GMT+5", timezone: "America/Chicago\n",
			want: Region{TZ: "America/Chicago", From: FromTimezone, Country: "us", CountryName: "United States", Continent: "north-america"}},
		{name: "TZ POSIX rule falls through", tables: true, tz: "CET-1CEST,M3.5.0,M10.5.0/3", localtime: zi + "Europe/Vienna",
			want: Region{TZ: "Europe/Vienna", From: FromLocaltime, Country: "at", CountryName: "Austria", Continent: "europe"}},
		{name: "localtime absolute", tables: true, localtime: zi + "Africa/Nairobi",
			want: Region{TZ: "Africa/Nairobi", From: FromLocaltime, Country: "ke", CountryName: "Kenya", Continent: "africa"}},
		{name: "localtime relative", tables: true, localtime: "../usr/share/zoneinfo/Europe/Amsterdam",
			want: Region{TZ: "Europe/Amsterdam", From: FromLocaltime, Country: "nl", CountryName: "Netherlands", Continent: "europe"}},
		{name: "localtime posix dir", tables: true, localtime: zi + "posix/Europe/Zurich",
			want: Region{TZ: "Europe/Zurich", From: FromLocaltime, Country: "ch", CountryName: "Switzerland", Continent: "europe"}},
		{name: "localtime right dir", tables: true, localtime: zi + "right/America/Bogota",
			want: Region{TZ: "America/Bogota", From: FromLocaltime, Country: "co", CountryName: "Colombia", Continent: "south-america"}},
		{name: "localtime chain", tables: true, localtime: "/etc/alternatives/tz",
			extra: func(r *fakeRoot) { r.symlink("/etc/alternatives/tz", zi+"Europe/London") },
			want:  Region{TZ: "Europe/London", From: FromLocaltime, Country: "gb", CountryName: "Britain (UK)", Continent: "europe"}},
		{name: "zone.tab country beats zone1970 group", tables: true, tz: "Europe/Busingen",
			want: Region{TZ: "Europe/Busingen", From: FromTZ, Country: "de", CountryName: "Germany", Continent: "europe"}},
		{name: "old name through tzdata.zi link", tables: true, tz: "Asia/Calcutta",
			want: Region{TZ: "Asia/Calcutta", From: FromTZ, Country: "in", CountryName: "India", Continent: "asia"}},
		{name: "US/Eastern link", tables: true, localtime: zi + "US/Eastern",
			want: Region{TZ: "US/Eastern", From: FromLocaltime, Country: "us", CountryName: "United States", Continent: "north-america"}},
		{name: "link through the zoneinfo symlink", tables: true, tz: "Asia/Saigon",
			extra: func(r *fakeRoot) {
				r.file(zi+"tzdata.zi", "# no links\n")
				r.symlink(zi+"Asia/Saigon", "Ho_Chi_Minh")
			},
			want: Region{TZ: "Asia/Saigon", From: FromTZ, Country: "vn", CountryName: "Vietnam", Continent: "asia"}},
		{name: "timezone file only", tables: true, timezone: "# comment\n\nAtlantic/Reykjavik\n",
			want: Region{TZ: "Atlantic/Reykjavik", From: FromTimezone, Country: "is", CountryName: "Iceland", Continent: "europe"}},
		{name: "localtime copied file, timezone file speaks", tables: true, timezone: "Asia/Singapore\n",
			extra: func(r *fakeRoot) { r.file("/etc/localtime", "TZif2...") },
			want:  Region{TZ: "Asia/Singapore", From: FromTimezone, Country: "sg", CountryName: "Singapore", Continent: "asia"}},
		{name: "localtime copied file alone", tables: true,
			extra: func(r *fakeRoot) { r.file("/etc/localtime", "TZif2...") },
			want:  Region{}, note: "not a link to a zoneinfo file"},
		{name: "Etc/UTC everywhere", tables: true, localtime: zi + "Etc/UTC", timezone: "Etc/UTC\n",
			want: Region{TZ: "Etc/UTC", From: FromLocaltime}, note: "says nothing about where"},
		{name: "UTC link", tables: true, tz: "UTC",
			want: Region{TZ: "UTC", From: FromTZ}, note: "says nothing about where"},
		{name: "nothing at all", tables: true,
			want: Region{}, note: "no timezone found"},
		{name: "unknown zone", tables: true, tz: "Mars/Olympus_Mons",
			want: Region{TZ: "Mars/Olympus_Mons", From: FromTZ}, note: "not in the zone tables"},
		{name: "no tables: continent from the name", tables: false, tz: "Europe/Berlin",
			want: Region{TZ: "Europe/Berlin", From: FromTZ, Continent: "europe"}, note: "guessed"},
		{name: "no tables: America is ambiguous", tables: false, tz: "America/Lima",
			want: Region{TZ: "America/Lima", From: FromTZ}, note: "not in the zone tables"},
		{name: "continent guess loses to a later country", tables: true, tz: "Europe/Atlantis", timezone: "Europe/Rome\n",
			want: Region{TZ: "Europe/Rome", From: FromTimezone, Country: "it", CountryName: "Italy", Continent: "europe"}},
		{name: "path traversal in timezone file", tables: true, timezone: "../../etc/passwd\n",
			want: Region{}, note: "not a timezone name"},
		{name: "link loop", tables: true, localtime: "/etc/loop",
			extra: func(r *fakeRoot) { r.symlink("/etc/loop", "/etc/localtime") },
			want:  Region{}, note: "more than 8 links"},
		{name: "Antarctica: country, no continent", tables: true, tz: "Antarctica/McMurdo",
			want: Region{TZ: "Antarctica/McMurdo", From: FromTZ, Country: "aq", CountryName: "Antarctica"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRoot(t, tc.tables)
			if tc.localtime != "" {
				r.symlink("/etc/localtime", tc.localtime)
			}
			if tc.timezone != "" {
				r.file("/etc/timezone", tc.timezone)
			}
			if tc.extra != nil {
				tc.extra(r)
			}
			z, err := loadZoneTables(filepath.Join(r.dir, zoneinfoDir))
			require.NoError(t, err)
			got, notes := detectRegion(r.dir, env(tc.tz), z)
			require.Equal(t, tc.want, got)
			if tc.note == "" {
				require.Empty(t, notes)
				return
			}
			require.Contains(t, fmt.Sprint(notes), tc.note)
		})
	}
}

// TestEveryZoneMapsToACountry walks every zone of the fixture tables through
// detection: each must give its country and that country's continent.
func TestEveryZoneMapsToACountry(t *testing.T) {
	r := newFakeRoot(t, true)
	z, err := loadZoneTables(filepath.Join(r.dir, zoneinfoDir))
	require.NoError(t, err)
	require.Greater(t, len(z.zoneTab), 400)
	for zone, cc := range z.zoneTab {
		got, err := regionForZone(zone, z)
		require.NoError(t, err, zone)
		require.Equal(t, cc, upperASCII(got.Country), zone)
		require.Equal(t, countryContinent[cc], got.Continent, zone)
	}
	for link := range z.links {
		got, _ := regionForZone(link, z)
		if got.Country == "" {
			require.True(t, got.TZ == link, link)
		}
	}
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestValidZoneName(t *testing.T) {
	for _, ok := range []string{"Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Etc/GMT-14", "EST5EDT", "America/Port-au-Prince"} {
		require.True(t, validZoneName(ok), ok)
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "Europe/../../x", "Europe//Berlin", "Europe/Berlin\n", "a b", "Europe/Berlin;rm", "./x"} {
		require.False(t, validZoneName(bad), bad)
	}
}
