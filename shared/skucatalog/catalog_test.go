package skucatalog

import (
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shared-tenant/licensetrack/shared/licensing"
)

func TestProduct(t *testing.T) {
	c, err := Parse(strings.NewReader("GUID,String_Id,Product_Display_Name\n" + guidA + ",ALPHA,Alpha Plan\n"))
	if err != nil {
		t.Fatal(err)
	}
	const visio = "c5928f49-12ba-48f7-ada3-0d743a3601d5"
	tests := []struct {
		name     string
		cat      *Catalog
		id, part string
		want     licensing.Product
	}{
		{"known GUID", c, guidA, "ALPHA", prod(guidA, "ALPHA", "Alpha Plan")},
		{"known GUID in upper case with spaces", c, " " + strings.ToUpper(guidA) + " ", "", prod(guidA, "ALPHA", "Alpha Plan")},
		{"built-in GUID", c, visio, "", prod(visio, "VISIOCLIENT", "Visio Plan 2")},
		{"the GUID wins over a different part number", c, visio, "ALPHA", prod(visio, "VISIOCLIENT", "Visio Plan 2")},
		{"unknown GUID, known part number", c, guidB, "alpha", prod(guidB, "ALPHA", "Alpha Plan")},
		{"unknown GUID, unknown part number", c, guidB, "NEW_SKU", prod(guidB, "NEW_SKU", "NEW_SKU")},
		{"unknown GUID in upper case, no part number", c, strings.ToUpper(guidB), "", prod(guidB, "", guidB)},
		{"nothing given", c, "", "", prod("", "", "Unknown product")},
		{"only a known part number", c, "", "VISIOCLIENT", prod(visio, "VISIOCLIENT", "Visio Plan 2")},
		{"nil catalog", nil, guidA, "ALPHA", prod(guidA, "ALPHA", "ALPHA")},
		{"built-in catalog", Builtin(), strings.ToUpper(visio), "", prod(visio, "VISIOCLIENT", "Visio Plan 2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cat.Product(tt.id, tt.part)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Product(%q, %q) (-want +got):\n%s", tt.id, tt.part, diff)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	c, err := Parse(strings.NewReader("GUID,String_Id,Product_Display_Name\n" + guidA + ",Alpha_Mixed,Alpha Plan\n"))
	if err != nil {
		t.Fatal(err)
	}
	const e3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	tests := []struct {
		name   string
		cat    *Catalog
		s      string
		want   licensing.Product
		wantOK bool
	}{
		{"GUID", c, guidA, prod(guidA, "Alpha_Mixed", "Alpha Plan"), true},
		{"GUID in upper case", c, strings.ToUpper(guidA), prod(guidA, "Alpha_Mixed", "Alpha Plan"), true},
		{"part number as written", c, "Alpha_Mixed", prod(guidA, "Alpha_Mixed", "Alpha Plan"), true},
		{"part number in another case", c, " ALPHA_MIXED ", prod(guidA, "Alpha_Mixed", "Alpha Plan"), true},
		{"built-in part number", c, "enterprisepack", prod(e3, "ENTERPRISEPACK", "Office 365 E3"), true},
		{"built-in GUID", c, strings.ToUpper(e3), prod(e3, "ENTERPRISEPACK", "Office 365 E3"), true},
		{"unknown", c, guidB, licensing.Product{}, false},
		{"a name is not a key", c, "Office 365 E3", licensing.Product{}, false},
		{"empty", c, "", licensing.Product{}, false},
		{"nil catalog", nil, e3, licensing.Product{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.cat.Lookup(tt.s)
			if ok != tt.wantOK {
				t.Errorf("Lookup(%q) ok = %v, want %v", tt.s, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", tt.s, diff)
			}
		})
	}
}

var lowerGUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestBuiltin(t *testing.T) {
	c := Builtin()
	if got, want := c.Len(), len(builtinRows); got != want {
		t.Errorf("Len() = %d, want %d: a GUID appears twice", got, want)
	}
	if got, want := len(c.byPart), len(builtinRows); got != want {
		t.Errorf("%d part numbers, want %d: a part number appears twice", got, want)
	}
	for _, r := range builtinRows {
		if !lowerGUID.MatchString(r.id) || r.part == "" || r.name == "" || strings.TrimSpace(r.name) != r.name {
			t.Errorf("built-in row %+v: want a lower-case GUID, a part number and a trimmed name", r)
		}
	}
	// The SKUs agencies buy most; spot-checked facts.
	wants := []licensing.Product{
		prod("18181a46-0d4e-45cd-891e-60aabd171b4e", "STANDARDPACK", "Office 365 E1"),
		prod("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3"),
		prod("c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", "Office 365 E5"),
		prod("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3"),
		prod("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5", "Microsoft 365 E5"),
		prod("66b55226-6b4f-492c-910c-a3b7a3c9d993", "SPE_F1", "Microsoft 365 F3"),
		prod("4b585984-651b-448a-9e53-3b10f069cf7f", "DESKLESSPACK", "Office 365 F3"),
		prod("c5928f49-12ba-48f7-ada3-0d743a3601d5", "VISIOCLIENT", "Visio Plan 2"),
		prod("4b244418-9658-4451-a2b8-b5e2b364e9bd", "VISIOONLINE_PLAN1", "Visio Plan 1"),
		prod("f8a1db68-be16-40ed-86d5-cb42ce701560", "POWER_BI_PRO", "Power BI Pro"),
		prod("c1d032e0-5619-4761-9b5c-75b6831e1711", "PBI_PREMIUM_PER_USER", "Power BI Premium Per User"),
		prod("4cde982a-ede4-4409-9ae6-b003453c8ea6", "Microsoft_Teams_Rooms_Pro", "Microsoft Teams Rooms Pro"),
		prod("4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGESTANDARD", "Exchange Online (Plan 1)"),
		prod("19ec0d23-8335-4cbd-94ac-6050e30712fa", "EXCHANGEENTERPRISE", "Exchange Online (Plan 2)"),
		prod("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", "Microsoft Entra ID P1"),
		prod("84a661c4-e949-4bd2-a560-ed7766fcaf2b", "AAD_PREMIUM_P2", "Microsoft Entra ID P2"),
		prod("efccb6f7-5641-4e0e-bd10-b4976e1bf68e", "EMS", "Enterprise Mobility + Security E3"),
		prod("b05e124f-c7cc-45a0-a6aa-8cf78c946968", "EMSPREMIUM", "Enterprise Mobility + Security E5"),
		prod("3b555118-da6a-4418-894f-7df1e2096870", "O365_BUSINESS_ESSENTIALS", "Microsoft 365 Business Basic"),
		prod("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM", "Microsoft 365 Business Standard"),
		prod("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "Microsoft 365 Business Premium"),
		prod("53818b1b-4a27-454b-8896-0dba576410e6", "PROJECTPROFESSIONAL", "Planner and Project Plan 3"),
		prod("09015f9f-377f-4538-bbb5-f75ceb09358a", "PROJECTPREMIUM", "Project Online Premium"),
		prod("535a3a29-c5f0-42fe-8215-d3b9e1f38c4a", "ENTERPRISEPACK_GOV", "Office 365 G3 GCC"),
	}
	for _, want := range wants {
		got, ok := c.Lookup(want.PartNumber)
		if !ok {
			t.Errorf("the built-in table has no %s", want.PartNumber)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("built-in %s (-want +got):\n%s", want.PartNumber, diff)
		}
	}
	if got := c.Source(); got != "built-in table" {
		t.Errorf("Source() = %q", got)
	}
}

// referenceList is the trimmed copy of Microsoft's list kept beside the
// project for tests and demos; the project does not need it.
var referenceList = filepath.Join("..", "..", "..", "shared", "data", "sku-names.csv")

// TestBuiltinAgreesWithReferenceList checks every built-in row against the
// reference copy of Microsoft's list, when it is there.
func TestBuiltinAgreesWithReferenceList(t *testing.T) {
	f, err := os.Open(referenceList)
	if os.IsNotExist(err) {
		t.Skipf("no reference list at %s", referenceList)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", referenceList, err)
	}
	st := ref.Stats()
	t.Logf("reference list: %d rows, %d products, %d skipped, %d conflicts", st.Rows, st.Products, st.Skipped, st.Conflicts)
	if st.Skipped != 0 || st.Products < 100 {
		t.Errorf("reference list: %+v, want no skipped rows and at least 100 products", st)
	}
	// Read the list again on its own, so that the built-ins Parse fills
	// gaps with cannot pass for rows of the list.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]licensing.Product{}
	for _, rec := range recs[1:] {
		id := strings.ToLower(rec[0])
		if _, ok := rows[id]; !ok {
			rows[id] = prod(id, rec[1], rec[2])
		}
	}
	for _, r := range builtinRows {
		got, ok := rows[r.id]
		if !ok {
			t.Errorf("built-in %s (%s) is not in the reference list", r.part, r.id)
			continue
		}
		if diff := cmp.Diff(prod(r.id, r.part, r.name), got); diff != "" {
			t.Errorf("built-in %s disagrees with the reference list (-built-in +list):\n%s", r.part, diff)
		}
	}
}
