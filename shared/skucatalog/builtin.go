package skucatalog

// builtinRows are the SKUs most agencies buy, with the GUID, part number and
// name Microsoft publishes for them. They name these SKUs when the published
// list cannot be had; the list, when it can, overrides them. Names follow
// the list even where the marketing name differs (PROJECTPREMIUM is
// "Project Online Premium", sold as Project Plan 5).
var builtinRows = [...]struct{ id, part, name string }{
	// Office 365 and Microsoft 365 suites.
	{"18181a46-0d4e-45cd-891e-60aabd171b4e", "STANDARDPACK", "Office 365 E1"},
	{"6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3"},
	{"c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", "Office 365 E5"},
	{"4b585984-651b-448a-9e53-3b10f069cf7f", "DESKLESSPACK", "Office 365 F3"},
	{"05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3", "Microsoft 365 E3"},
	{"06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5", "Microsoft 365 E5"},
	{"66b55226-6b4f-492c-910c-a3b7a3c9d993", "SPE_F1", "Microsoft 365 F3"},
	{"44575883-256e-4a79-9da4-ebe9acabe2b2", "M365_F1", "Microsoft 365 F1"},
	{"3b555118-da6a-4418-894f-7df1e2096870", "O365_BUSINESS_ESSENTIALS", "Microsoft 365 Business Basic"},
	{"f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM", "Microsoft 365 Business Standard"},
	{"cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "Microsoft 365 Business Premium"},

	// Exchange, identity and device management.
	{"4b9405b0-7788-4568-add1-99614e613b69", "EXCHANGESTANDARD", "Exchange Online (Plan 1)"},
	{"19ec0d23-8335-4cbd-94ac-6050e30712fa", "EXCHANGEENTERPRISE", "Exchange Online (Plan 2)"},
	{"80b2d799-d2ba-4d2a-8842-fb0d0f3a4b82", "EXCHANGEDESKLESS", "Exchange Online Kiosk"},
	{"078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", "Microsoft Entra ID P1"},
	{"84a661c4-e949-4bd2-a560-ed7766fcaf2b", "AAD_PREMIUM_P2", "Microsoft Entra ID P2"},
	{"efccb6f7-5641-4e0e-bd10-b4976e1bf68e", "EMS", "Enterprise Mobility + Security E3"},
	{"b05e124f-c7cc-45a0-a6aa-8cf78c946968", "EMSPREMIUM", "Enterprise Mobility + Security E5"},
	{"061f9ace-7d42-4136-88ac-31dc755f143f", "INTUNE_A", "Intune"},
	{"6a0f6da5-0b87-4190-a6ae-9bb5a2b9546a", "WIN10_VDA_E3", "Windows 10/11 Enterprise E3"},

	// Visio, Project and Planner.
	{"c5928f49-12ba-48f7-ada3-0d743a3601d5", "VISIOCLIENT", "Visio Plan 2"},
	{"4b244418-9658-4451-a2b8-b5e2b364e9bd", "VISIOONLINE_PLAN1", "Visio Plan 1"},
	{"53818b1b-4a27-454b-8896-0dba576410e6", "PROJECTPROFESSIONAL", "Planner and Project Plan 3"},
	{"09015f9f-377f-4538-bbb5-f75ceb09358a", "PROJECTPREMIUM", "Project Online Premium"},
	{"beb6439c-caad-48d3-bf46-0c82871e12be", "PROJECT_P1", "Planner Plan 1"},

	// Power BI and Power Platform.
	{"f8a1db68-be16-40ed-86d5-cb42ce701560", "POWER_BI_PRO", "Power BI Pro"},
	{"c1d032e0-5619-4761-9b5c-75b6831e1711", "PBI_PREMIUM_PER_USER", "Power BI Premium Per User"},
	{"a403ebcc-fae0-4ca2-8c8c-7a907fd6c235", "POWER_BI_STANDARD", "Microsoft Fabric (Free)"},
	{"f30db892-07e9-47e9-837c-80727f46fd3d", "FLOW_FREE", "Microsoft Power Automate Free"},

	// Teams: rooms, phone, conferencing.
	{"4cde982a-ede4-4409-9ae6-b003453c8ea6", "Microsoft_Teams_Rooms_Pro", "Microsoft Teams Rooms Pro"},
	{"6af4b3d6-14bb-4a2a-960c-6c902aad34f3", "Microsoft_Teams_Rooms_Basic", "Microsoft Teams Rooms Basic"},
	{"e43b5b99-8dfb-405f-9987-dc307f34bcbd", "MCOEV", "Microsoft Teams Phone Standard"},
	{"440eaaa8-b3e0-484b-a8be-62870b9ba70a", "PHONESYSTEM_VIRTUALUSER", "Microsoft Teams Phone Resource Account"},
	{"0c266dff-15dd-4b49-8397-2bb16070ed52", "MCOMEETADV", "Microsoft 365 Audio Conferencing"},
	{"710779e8-3d4a-4c88-adb9-386c958d1fdf", "TEAMS_EXPLORATORY", "Microsoft Teams Exploratory"},
	{"1f2f344a-700d-42c9-9427-5cea1d5d7ba6", "STREAM", "Microsoft Stream"},

	// Government community cloud (GCC) variants.
	{"3f4babde-90ec-47c6-995d-d223749065d1", "STANDARDPACK_GOV", "Office 365 G1 GCC"},
	{"535a3a29-c5f0-42fe-8215-d3b9e1f38c4a", "ENTERPRISEPACK_GOV", "Office 365 G3 GCC"},
	{"8900a2c0-edba-4079-bdf3-b276e293b6a8", "ENTERPRISEPREMIUM_GOV", "Office 365 G5 GCC"},
	{"e823ca47-49c4-46b3-b38d-ca11d5abe3d2", "M365_G3_GOV", "Microsoft 365 G3 GCC"},
	{"e2be619b-b125-455f-8660-fb503e431a5d", "M365_G5_GCC", "Microsoft 365 GCC G5"},
	{"f37d5ebf-4bf1-4aa2-8fa3-50c51059e983", "EXCHANGESTANDARD_GOV", "Exchange Online (Plan 1) for GCC"},
	{"c793db86-5237-494e-9b11-dcd4877c2c8c", "EMS_GOV", "Enterprise Mobility + Security G3 GCC"},
	{"8a180c2b-f4cf-4d44-897c-3d32acc4a60b", "EMSPREMIUM_GOV", "Enterprise Mobility + Security G5 GCC"},
	{"4ae99959-6b0f-43b0-b1ce-68146001bdba", "VISIOCLIENT_GOV", "Visio Plan 2 for GCC"},
	{"074c6829-b3a0-430a-ba3d-aca365e57065", "PROJECTPROFESSIONAL_GOV", "Project Plan 3 for GCC"},
	{"f2230877-72be-4fec-b1ba-7156d6f75bd6", "PROJECTPREMIUM_GOV", "Project Plan 5 for GCC"},
	{"f0612879-44ea-47fb-baf0-3d76d9235576", "POWERBI_PRO_GOV", "Power BI Pro for GCC"},
	{"e53d92fc-778b-4a8b-83de-791240ebf88d", "PBI_PREMIUM_PER_USER_GCC", "Power BI Premium Per User for Government"},
	{"31ecb341-2a17-483e-9140-c473006d1e1a", "Microsoft_Teams_Rooms_Pro_GCC", "Microsoft Teams Rooms Pro for GCC"},
	{"a460366a-ade7-4791-b581-9fbff1bdaa85", "MCOEV_GOV", "Microsoft Teams Phone Standard for GCC"},
	{"2d3091c7-0712-488b-b3d8-6b97bde6a1f5", "MCOMEETADV_GOV", "Microsoft 365 Audio Conferencing for GCC"},
}
