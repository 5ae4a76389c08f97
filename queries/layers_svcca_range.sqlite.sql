SELECT la."index" AS layer, lb."index" AS other_layer, layer_similarity.value AS value 
FROM layer_similarity JOIN layer AS la ON la.id = layer_similarity.layer_id JOIN layer AS lb ON lb.id = layer_similarity.other_layer_id 
WHERE layer_similarity.correlation_id = ? AND layer_similarity.method = ? AND la.model_id = ? AND lb.model_id = ? AND la.site = ? AND lb.site = ? AND la."index" BETWEEN ? AND ? AND lb."index" BETWEEN ? AND ? ORDER BY la."index", lb."index"
-- parameters: {'correlation_id_1': 3, 'method_1': 'svcca', 'model_id_1': 1, 'model_id_2': 2, 'site_1': 'mlp', 'site_2': 'mlp', 'index_1': 0, 'index_2': 3, 'index_3': 0, 'index_4': 3}
